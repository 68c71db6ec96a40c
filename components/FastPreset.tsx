"use client";
import type { FormValues } from "@/lib/ui/generation-form";
import type { ModelView } from "@/lib/ui/api-types";

type Props = {
  recipe: NonNullable<ModelView["recipe"]>;
  values: Pick<FormValues, "steps" | "guidance" | "solver">;
  onChange: (patch: Partial<FormValues>) => void;
};

/**
 * A distilled model's recipe as a one-click preset: its sampler, step count and guidance (off), which are
 * also the model's defaults. Shown only for distilled models; pressed while the form uses the recipe.
 */
export function FastPreset({ recipe, values, onChange }: Props) {
  const active = values.solver === recipe.solver && Number(values.steps) === recipe.steps && Number(values.guidance) === recipe.guidance;
  return (
    <div className="fast-preset" data-testid="fast-preset">
      <button
        type="button"
        className="button"
        aria-pressed={active}
        onClick={() => onChange({ solver: recipe.solver, steps: String(recipe.steps), guidance: String(recipe.guidance) })}
      >
        Fast ({recipe.steps} steps)
      </button>
      <p className="hint">
        Distilled model ({recipe.label}): {recipe.steps} steps with the {recipe.label} sampler, guidance off.
      </p>
    </div>
  );
}
