/**
 * Generation parameters: one zod schema shared by the API, the worker, the CLI and the UI, so every entry
 * point accepts and rejects the same things with the same messages (each naming the field).
 */
import { z } from "zod";

/** The base model's solvers, then the samplers of distilled recipes (each runs only on its own distillation). */
export const BASE_SOLVERS = ["unipc", "dpmpp", "euler"] as const;
export const SOLVERS = [...BASE_SOLVERS, "rcm"] as const;
/** Few-step distillations of the Wan 2.1 architecture the engine samples with their own recipe (docs/distilled.md). */
export const DISTILLED_RECIPES = ["rcm"] as const;
export type DistilledRecipe = (typeof DISTILLED_RECIPES)[number];
/** Step caching presets (lib/engine/step-cache.ts): "exact" runs every DiT pass, "fast"/"faster" reuse some. */
export const SPEEDS = ["exact", "fast", "faster"] as const;
export type Speed = (typeof SPEEDS)[number];
export const MAX_SEED = Number.MAX_SAFE_INTEGER;
export const MAX_PROMPT_CHARS = 2000;

/** Frame counts the causal VAE accepts: 1 + 4k (reference §3.4). */
export function isValidFrameCount(frames: number): boolean {
  return Number.isInteger(frames) && frames >= 1 && (frames - 1) % 4 === 0;
}

/** The nearest valid frame count for a duration in seconds (at least 1 frame, i.e. a still image). */
export function framesForSeconds(seconds: number, fps: number): number {
  const k = Math.max(0, Math.round((seconds * fps - 1) / 4));
  return 4 * k + 1;
}

export function secondsForFrames(frames: number, fps: number): number {
  return frames / fps;
}

const dimension = (name: string) =>
  z
    .number({ error: `${name} must be a number` })
    .int(`${name} must be an integer`)
    .min(16, `${name} must be at least 16`)
    .max(1920, `${name} must be at most 1920`)
    .refine((v) => v % 16 === 0, { message: `${name} must be a multiple of 16` });

export const generationParamsSchema = z.object({
  prompt: z
    .string({ error: "prompt is required" })
    .trim()
    .min(1, "prompt must not be empty")
    .max(MAX_PROMPT_CHARS, `prompt must be at most ${MAX_PROMPT_CHARS} characters`),
  /** Omitted: the model's official default negative prompt. An empty string means no negative prompt. */
  negativePrompt: z.string().max(MAX_PROMPT_CHARS, `negativePrompt must be at most ${MAX_PROMPT_CHARS} characters`).optional(),
  width: dimension("width"),
  height: dimension("height"),
  frames: z
    .number({ error: "frames must be a number" })
    .int("frames must be an integer")
    .min(1, "frames must be at least 1")
    .max(257, "frames must be at most 257")
    .refine(isValidFrameCount, { message: "frames must be 4k+1 (1, 5, 9, …, 81)" }),
  steps: z.number({ error: "steps must be a number" }).int("steps must be an integer").min(1).max(100, "steps must be at most 100"),
  guidance: z.number({ error: "guidance must be a number" }).min(0, "guidance must be ≥ 0").max(20, "guidance must be ≤ 20"),
  shift: z.number({ error: "shift must be a number" }).gt(0, "shift must be > 0").max(50, "shift must be ≤ 50"),
  solver: z.enum(SOLVERS, { error: `solver must be one of ${SOLVERS.join(", ")}` }),
  /** Omitted: a random seed is drawn, and the one used is reported. */
  seed: z
    .number({ error: "seed must be a number" })
    .int("seed must be an integer")
    .min(0, "seed must be ≥ 0")
    .max(MAX_SEED, `seed must be ≤ ${MAX_SEED}`)
    .optional(),
  /** The sigma grid: the official Wan one, or Diffusers' (reference §5.8). */
  grid: z.enum(["official", "diffusers"]).default("official"),
  speed: z.enum(SPEEDS, { error: `speed must be one of ${SPEEDS.join(", ")}` }).default("exact"),
});

export type GenerationParams = z.infer<typeof generationParamsSchema>;
export type GenerationInput = z.input<typeof generationParamsSchema>;

/** How an input image is fitted to the output size: crop the centre, or fit inside and pad. */
export const IMAGE_FIT = ["crop", "pad"] as const;

/** The first issue of a zod error as { field, message }. */
export function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  const field = issue.path.map(String).join(".") || "body";
  return { field, message: issue.message };
}
