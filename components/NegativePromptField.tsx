"use client";
import { englishRendering } from "@/lib/ui/negative-prompt";
import { FieldError } from "./FieldError";

type Props = {
  /** null: the model's default. */
  value: string | null;
  defaultText: string;
  onChange: (value: string | null) => void;
  error?: string;
};

/**
 * The negative prompt, pre-filled with the model's default (Wan's Chinese list) and editable. The
 * disclosure shows what the default says in English; Reset brings the default back. An empty field
 * means no negative prompt at all.
 */
export function NegativePromptField({ value, defaultText, onChange, error }: Props) {
  const text = value ?? defaultText;
  const isDefault = value === null || value === defaultText;
  const english = englishRendering(text);
  return (
    <div className="field">
      <div className="label-row">
        <label className="label" htmlFor="negativePrompt">
          Negative prompt
        </label>
        {isDefault ? (
          <span className="tag">Model default</span>
        ) : (
          <button type="button" className="link-button" onClick={() => onChange(null)}>
            Reset to default
          </button>
        )}
      </div>
      <textarea
        id="negativePrompt"
        name="negativePrompt"
        rows={3}
        lang={english ? "zh" : undefined}
        value={text}
        onChange={(e) => onChange(e.target.value === defaultText ? null : e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? "negativePrompt-error" : "negativePrompt-hint"}
      />
      <FieldError id="negativePrompt-error" message={error} />
      {!error && (
        <p id="negativePrompt-hint" className="hint">
          What the video should avoid. Empty means no negative prompt.
        </p>
      )}
      {english && (
        <details className="disclosure">
          <summary>What it says</summary>
          <p lang="en">{english}</p>
          <p className="hint">The model reads the Chinese text; this is its English rendering.</p>
        </details>
      )}
    </div>
  );
}
