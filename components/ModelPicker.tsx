"use client";
import type { ModelView } from "@/lib/ui/api-types";
import { FieldError } from "./FieldError";

type Props = {
  models: ModelView[];
  value: string;
  onChange: (name: string) => void;
  error?: string;
};

/** The installed models (GET /api/models); the tiny random-weight test model says so. */
export function ModelPicker({ models, value, onChange, error }: Props) {
  return (
    <div className="field">
      <label className="label" htmlFor="model">
        Model
      </label>
      <select
        id="model"
        name="model"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? "model-error" : undefined}
      >
        {models.map((m) => (
          <option key={m.name} value={m.name}>
            {m.name}
            {m.tiny ? " (tiny test model: random weights)" : ""}
          </option>
        ))}
      </select>
      <FieldError id="model-error" message={error} />
    </div>
  );
}
