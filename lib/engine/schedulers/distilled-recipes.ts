/**
 * Few-step distilled checkpoints of the Wan 2.1 architecture: the same DiT graph with other weights, sampled
 * with the recipe they were distilled for (docs/distilled.md). A recipe names its sampler and the settings the
 * official inference script uses; a converted model's manifest records its recipe, so the studio, the CLI and
 * the API offer those settings as the model's defaults (the "Fast" preset) and refuse settings the
 * distillation never saw.
 */
import type { GenerationDefaults } from "../../../models/manifest.ts";
import type { DistilledRecipe } from "../../schemas/generation.ts";
import type { SolverName } from "./flow-scheduler.ts";
import { RCM_MAX_STEPS } from "./rcm.ts";

export type DistilledRecipeSettings = {
  /** Shown in the studio ("Fast (4 steps)" uses the steps). */
  label: string;
  solver: SolverName;
  /** The official default step count, and the most the distillation supports. */
  steps: number;
  maxSteps: number;
  /** Guidance is distilled into the weights: 1 = one conditional DiT call per step. */
  guidance: number;
  /** Where the recipe comes from (the official script and function followed). */
  source: string;
};

export const DISTILLED_RECIPE_SETTINGS: Record<DistilledRecipe, DistilledRecipeSettings> = {
  rcm: {
    label: "rCM",
    solver: "rcm",
    steps: 4,
    maxSteps: RCM_MAX_STEPS,
    guidance: 1,
    source: "NVlabs/rcm rcm/inference/wan2pt1_t2v_rcm_infer.py (__main__ sampling loop)",
  },
};

/** The recipe whose sampler `solver` is, if any. */
export function recipeOfSolver(solver: string): DistilledRecipe | null {
  for (const [name, r] of Object.entries(DISTILLED_RECIPE_SETTINGS)) if (r.solver === solver) return name as DistilledRecipe;
  return null;
}

/**
 * The recipe a checkpoint file is published under, from its name: NVlabs ships rCM's Wan 2.1 checkpoints as
 * `rCM_Wan2.1_T2V_1.3B_480p.pt` (and the 14B / 720p variants). Anything else needs `--recipe`.
 */
export function recipeFromFileName(file: string): DistilledRecipe | null {
  const base = file.split(/[\\/]/).pop() ?? "";
  return /(^|[^a-z])rcm([^a-z]|$)/i.test(base) ? "rcm" : null;
}

/** The base model's defaults with the recipe's sampler, steps and guidance. */
export function recipeDefaults(base: GenerationDefaults, recipe: DistilledRecipe): GenerationDefaults {
  const r = DISTILLED_RECIPE_SETTINGS[recipe];
  return { ...base, steps: r.steps, guidance: r.guidance, solver: r.solver };
}

/**
 * Why these settings cannot run on a model with recipe `modelRecipe` (null: a base model), naming the field;
 * null when they can. A base model's solvers also run on a distilled model (what the distillation does to them
 * is the user's experiment), but a distilled sampler only runs on its own distillation.
 */
export function recipeIssue(
  params: { solver: string; steps: number; guidance: number },
  modelRecipe: DistilledRecipe | null,
  modelName: string,
): { field: "solver" | "steps" | "guidance"; message: string } | null {
  const recipe = recipeOfSolver(params.solver);
  if (!recipe) return null;
  const r = DISTILLED_RECIPE_SETTINGS[recipe];
  if (modelRecipe !== recipe) {
    return { field: "solver", message: `the ${params.solver} sampler needs a model distilled with ${r.label}; model ${modelName} is not one` };
  }
  if (params.steps > r.maxSteps) {
    return { field: "steps", message: `${r.label} samples in 1 to ${r.maxSteps} steps (got ${params.steps})` };
  }
  if (params.guidance > 1) {
    return { field: "guidance", message: `${r.label} is distilled without guidance: set guidance to 1 (got ${params.guidance})` };
  }
  return null;
}
