"use client";
import { BATCH_LIMITS } from "@/lib/schemas/batch";
import { batchSummary, type BatchChoice } from "@/lib/ui/generation-form";
import { FieldError } from "./FieldError";

type Props = {
  choice: BatchChoice;
  onChange: (choice: BatchChoice) => void;
  /** How many prompts the text holds in per-line mode (1 otherwise). */
  prompts: number;
  /** The seed field's text: "" is random. */
  seed: string;
  error?: string;
};

const MODES = [
  { perLine: false, value: "one", name: "One prompt", note: "the whole text" },
  { perLine: true, value: "lines", name: "One per line", note: "a video per line" },
] as const;

/** The batch choice under the prompt: one prompt or one per line, and how many seeds (variations) of each. */
export function BatchFields({ choice, onChange, prompts, seed, error }: Props) {
  const variations = Number(choice.variations);
  return (
    <div className="field-pair batch-fields">
      <fieldset className="field">
        <legend className="label">Prompts</legend>
        <div className="segmented">
          {MODES.map((m) => (
            <label key={m.value} className="segment" data-checked={choice.perLine === m.perLine || undefined}>
              <input type="radio" name="prompt-mode" value={m.value} checked={choice.perLine === m.perLine} onChange={() => onChange({ ...choice, perLine: m.perLine })} />
              <span className="segment-name">{m.name}</span>
              <span className="segment-note">{m.note}</span>
            </label>
          ))}
        </div>
      </fieldset>
      <div className="field">
        <label className="label" htmlFor="variations">
          Variations
        </label>
        <input
          id="variations"
          name="variations"
          type="number"
          inputMode="numeric"
          min={1}
          max={BATCH_LIMITS.maxJobs}
          step={1}
          value={choice.variations}
          onChange={(e) => onChange({ ...choice, variations: e.target.value })}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "variations-hint variations-error" : "variations-hint"}
        />
        <p className="hint" id="variations-hint" data-testid="batch-summary">
          {batchSummary(prompts, variations, seed)}
        </p>
        <FieldError id="variations-error" message={error} />
      </div>
    </div>
  );
}
