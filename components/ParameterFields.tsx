"use client";
import { BASE_SOLVERS, SPEEDS } from "@/lib/schemas/generation";
import { SOLVER_LABELS, SPEED_LABELS } from "@/lib/ui/format";
import type { FieldErrors, FormValues, Grid, Solver } from "@/lib/ui/generation-form";
import { FieldError } from "./FieldError";

type Props = {
  values: Pick<FormValues, "steps" | "guidance" | "shift" | "solver" | "grid" | "speed">;
  onChange: (patch: Partial<FormValues>) => void;
  errors: FieldErrors;
  /** The sampler of the model's distilled recipe, offered only for that model. */
  distilledSolver?: Solver;
};


type NumberKey = "steps" | "guidance" | "shift";
const NUMBERS: { key: NumberKey; label: string; hint: string; step: number; min: number; inputMode: "numeric" | "decimal" }[] = [
  { key: "steps", label: "Steps", hint: "More steps: finer detail, longer run.", step: 1, min: 1, inputMode: "numeric" },
  { key: "guidance", label: "Guidance", hint: "How closely to follow the prompt.", step: 0.5, min: 0, inputMode: "decimal" },
  { key: "shift", label: "Shift", hint: "Noise schedule shift; higher suits larger sizes.", step: 0.5, min: 0, inputMode: "decimal" },
];

/** Sampling parameters: steps, guidance, shift, sampler, speed and sigma grid, each with its schema error. */
export function ParameterFields({ values, onChange, errors, distilledSolver }: Props) {
  const solvers: Solver[] = distilledSolver ? [distilledSolver, ...BASE_SOLVERS] : [...BASE_SOLVERS];
  return (
    <div className="params">
      <div className="params-numbers">
        {NUMBERS.map((n) => (
          <div className="field" key={n.key}>
            <label className="label" htmlFor={n.key}>
              {n.label}
            </label>
            <input
              id={n.key}
              name={n.key}
              type="number"
              inputMode={n.inputMode}
              step={n.step}
              min={n.min}
              value={values[n.key]}
              onChange={(e) => onChange({ [n.key]: e.target.value })}
              aria-invalid={errors[n.key] ? true : undefined}
              aria-describedby={errors[n.key] ? `${n.key}-error` : `${n.key}-hint`}
            />
            <FieldError id={`${n.key}-error`} message={errors[n.key]} />
            {!errors[n.key] && (
              <p id={`${n.key}-hint`} className="hint">
                {n.hint}
              </p>
            )}
          </div>
        ))}
      </div>
      <fieldset className="field">
        <legend className="label">Sampler</legend>
        <div className="segmented">
          {solvers.map((s) => (
            <label key={s} className="segment" data-checked={values.solver === s || undefined}>
              <input type="radio" name="solver" value={s} checked={values.solver === s} onChange={() => onChange({ solver: s })} />
              <span className="segment-name">{SOLVER_LABELS[s].name}</span>
              <span className="segment-note">{SOLVER_LABELS[s].note}</span>
            </label>
          ))}
        </div>
        <FieldError id="solver-error" message={errors.solver} />
      </fieldset>
      <fieldset className="field">
        <legend className="label">Speed</legend>
        <div className="segmented">
          {SPEEDS.map((s) => (
            <label key={s} className="segment" data-checked={values.speed === s || undefined}>
              <input type="radio" name="speed" value={s} checked={values.speed === s} onChange={() => onChange({ speed: s })} />
              <span className="segment-name">{SPEED_LABELS[s].name}</span>
              <span className="segment-note">{SPEED_LABELS[s].note}</span>
            </label>
          ))}
        </div>
        <FieldError id="speed-error" message={errors.speed} />
      </fieldset>
      <div className="field">
        <label className="label" htmlFor="grid">
          Sigma schedule
        </label>
        <select id="grid" name="grid" value={values.grid} onChange={(e) => onChange({ grid: e.target.value as Grid })}>
          <option value="official">Official Wan grid</option>
          <option value="diffusers">Diffusers grid</option>
        </select>
        <FieldError id="grid-error" message={errors.grid} />
      </div>
    </div>
  );
}
