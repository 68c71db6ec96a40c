"use client";
import { aspectRatioName } from "@/lib/ui/format";
import { FieldError } from "./FieldError";

type Props = {
  sizes: [number, number][];
  width: number;
  height: number;
  onChange: (width: number, height: number) => void;
  error?: string;
  legend?: string;
  hint?: string;
  /**
   * "area": the presets are pixel budgets (image to video keeps the input's shape), so presets with the
   * same area are one choice, labelled by their megapixels.
   */
  mode?: "aspect" | "area";
};

/**
 * The model's size presets as a radio group of shapes labelled the way people say them ("16:9 · 832×480").
 * Only sizes the selected model offers are shown, so an invalid size cannot be picked.
 */
export function SizePresets({ sizes, width, height, onChange, error, legend = "Aspect ratio", hint, mode = "aspect" }: Props) {
  const maxSide = Math.max(...sizes.flat());
  const choices = mode === "area" ? sizes.filter(([w, h], i) => sizes.findIndex(([w2, h2]) => w2 * h2 === w * h) === i) : sizes;
  const maxArea = Math.max(...choices.map(([w, h]) => w * h));
  return (
    <fieldset className="field" aria-describedby={error ? "size-error" : hint ? "size-hint" : undefined}>
      <legend className="label">{legend}</legend>
      {hint && (
        <p id="size-hint" className="hint">
          {hint}
        </p>
      )}
      <div className="presets" data-testid="size-presets">
        {choices.map(([w, h]) => {
          const checked = mode === "area" ? w * h === width * height : w === width && h === height;
          // A budget reads as its size and pixel count; an aspect preset as its ratio and size.
          const main = mode === "area" ? `${w}×${h}` : aspectRatioName(w, h);
          const sub = mode === "area" ? `${(w * h).toLocaleString("en-US")} px` : `${w}×${h}`;
          const side = mode === "area" ? Math.sqrt((w * h) / maxArea) * 100 : null;
          return (
            <label key={`${w}x${h}`} className="preset" data-checked={checked || undefined}>
              <input
                type="radio"
                name="size"
                value={`${w}x${h}`}
                checked={checked}
                onChange={() => onChange(w, h)}
                aria-label={`${main} · ${sub}`}
              />
              <span className="preset-shape" aria-hidden="true">
                <span
                  style={side !== null ? { width: `${side}%`, height: `${side}%` } : { width: `${(w / maxSide) * 100}%`, height: `${(h / maxSide) * 100}%` }}
                />
              </span>
              <span className="preset-ratio">{main}</span>
              <span className="preset-size">{sub}</span>
            </label>
          );
        })}
      </div>
      <FieldError id="size-error" message={error} />
    </fieldset>
  );
}
