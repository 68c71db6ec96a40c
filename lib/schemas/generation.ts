/**
 * Generation parameters: one zod schema shared by the API, the worker, the CLI and the UI, so every entry
 * point accepts and rejects the same things with the same messages (each naming the field).
 */
import { z } from "zod";

/** The base model's solvers, then the samplers of distilled recipes (each runs only on its own distillation). */
export const BASE_SOLVERS = ["unipc", "dpmpp", "euler"] as const;
export const SOLVERS = [...BASE_SOLVERS, "rcm"] as const;
export type Solver = (typeof SOLVERS)[number];
/** Few-step distillations of the Wan 2.1 architecture the engine samples with their own recipe (docs/distilled.md). */
export const DISTILLED_RECIPES = ["rcm"] as const;
export type DistilledRecipe = (typeof DISTILLED_RECIPES)[number];
/** Step caching presets (lib/engine/step-cache.ts): "exact" runs every DiT pass, "fast"/"faster" reuse some. */
export const SPEEDS = ["exact", "fast", "faster"] as const;
export type Speed = (typeof SPEEDS)[number];
/** Sigma grids: the official Wan one for the solver, or Diffusers' `use_flow_sigmas` grid. */
export const GRIDS = ["official", "diffusers"] as const;
export type Grid = (typeof GRIDS)[number];
/** How an input image is fitted to the output size: crop the centre, or fit inside and pad. */
export const IMAGE_FIT = ["crop", "pad"] as const;
export type ImageFit = (typeof IMAGE_FIT)[number];
export const MAX_SEED = Number.MAX_SAFE_INTEGER;
export const MAX_PROMPT_CHARS = 2000;

/** Video frames per latent frame after the first: the causal VAE's temporal compression (docs/model-notes.md#latent-normalisation-and-the-frame-rule). */
export const FRAMES_PER_LATENT = 4;

/** Latent frames for T video frames: 1 + ⌊(T−1)/4⌋ (frames beyond 4n+1 are dropped, official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode). */
export function latentFrameCount(frames: number): number {
  return 1 + Math.floor((frames - 1) / FRAMES_PER_LATENT);
}

/** Video frames decoded from F latent frames: 1 + 4(F−1) (official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode). */
export function videoFrameCount(latentFrames: number): number {
  return 1 + FRAMES_PER_LATENT * (latentFrames - 1);
}

/** Frame counts the causal VAE accepts: 1 + 4k (docs/model-notes.md#latent-normalisation-and-the-frame-rule). */
export function isValidFrameCount(frames: number): boolean {
  return Number.isInteger(frames) && frames >= 1 && (frames - 1) % FRAMES_PER_LATENT === 0;
}

/** The largest valid frame count of at most `frames` (≥ 1): what the VAE keeps of a clip that long. */
export function validFramesWithin(frames: number): number {
  return videoFrameCount(latentFrameCount(frames));
}

/** The nearest valid frame count for a duration in seconds (at least 1 frame, i.e. a still image). */
export function framesForSeconds(seconds: number, fps: number): number {
  return videoFrameCount(1 + Math.max(0, Math.round((seconds * fps - 1) / FRAMES_PER_LATENT)));
}

const dimension = (name: string) =>
  z
    .number({ error: `${name} must be a number` })
    .int(`${name} must be an integer`)
    .min(16, `${name} must be at least 16`)
    .max(1920, `${name} must be at most 1920`)
    .refine((v) => v % 16 === 0, { message: `${name} must be a multiple of 16` });

// Control characters other than new line and tab end up in the MP4's metadata, which refuses them.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u0008\u000b-\u001f\u007f]/;
// Half a UTF-16 pair is not text: the database drivers refuse to store it.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A free-text field (prompt, search): a string of printable Unicode text, new lines and tabs allowed. */
export function textField(name: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `${name} is required` : `${name} must be a string`) })
    .refine((s) => !CONTROL_CHARACTER.test(s), `${name} must not contain control characters (new lines and tabs are fine)`)
    .refine((s) => !LONE_SURROGATE.test(s), `${name} must be valid Unicode text (it holds half of a surrogate pair)`);
}

/** A prompt: text as above, trimmed, not empty, at most MAX_PROMPT_CHARS (`name` is what the messages call it). */
export function promptField(name: string) {
  return textField(name)
    .trim()
    .min(1, `${name} must not be empty`)
    .max(MAX_PROMPT_CHARS, `${name} must be at most ${MAX_PROMPT_CHARS} characters`);
}

export const generationParamsSchema = z.object({
  prompt: promptField("prompt"),
  /** Omitted: the model's official default negative prompt. An empty string means no negative prompt. */
  negativePrompt: textField("negativePrompt").max(MAX_PROMPT_CHARS, `negativePrompt must be at most ${MAX_PROMPT_CHARS} characters`).optional(),
  width: dimension("width"),
  height: dimension("height"),
  frames: z
    .number({ error: "frames must be a number" })
    .int("frames must be an integer")
    .min(1, "frames must be at least 1")
    .max(257, "frames must be at most 257")
    .refine(isValidFrameCount, { message: "frames must be 4k+1 (1, 5, 9, …, 81)" }),
  steps: z.number({ error: "steps must be a number" }).int("steps must be an integer").min(1, "steps must be at least 1").max(100, "steps must be at most 100"),
  guidance: z.number({ error: "guidance must be a number" }).min(0, "guidance must be ≥ 0").max(20, "guidance must be ≤ 20"),
  shift: z.number({ error: "shift must be a number" }).gt(0, "shift must be > 0").max(50, "shift must be ≤ 50"),
  solver: z.enum(SOLVERS, { error: `solver must be one of ${SOLVERS.join(", ")}` }),
  /** Omitted: a random seed is drawn, and the one used is reported. */
  seed: z
    .number({ error: "seed must be a number" })
    // Range first: a number past 2^53 is reported as too large, not as "not an integer".
    .min(0, "seed must be ≥ 0")
    .max(MAX_SEED, `seed must be ≤ ${MAX_SEED}`)
    .int("seed must be an integer")
    .optional(),
  /** The sigma grid: the official Wan one, or Diffusers' (Diffusers UniPCMultistepScheduler.set_timesteps (use_flow_sigmas)). */
  grid: z.enum(GRIDS, { error: `grid must be one of ${GRIDS.join(", ")}` }).default("official"),
  speed: z.enum(SPEEDS, { error: `speed must be one of ${SPEEDS.join(", ")}` }).default("exact"),
});

export type GenerationParams = z.infer<typeof generationParamsSchema>;
export type GenerationInput = z.input<typeof generationParamsSchema>;

/** Image-to-video fits the input by cropping its centre unless asked to pad. */
export const DEFAULT_FIT: ImageFit = "crop";
/** How far video-to-video moves away from the input when the request does not say (0 = copy, 1 = ignore). */
export const DEFAULT_V2V_STRENGTH = 0.7;

/** Image-to-video: how the image fills the output frame. */
export const fitSchema = z.enum(IMAGE_FIT, { error: `fit must be one of ${IMAGE_FIT.join(", ")}` });
/** Video-to-video: how much of the clip is re-imagined, 0…1 (1 = from pure noise). */
export const strengthSchema = z
  .number({ error: "strength must be a number" })
  .min(0, "strength must be between 0 and 1")
  .max(1, "strength must be between 0 and 1");

/**
 * What a job stores in its `params` column and the engine runs: the generation parameters with the frame
 * count resolved, plus the kind's own fields. Written by lib/jobs/create.ts, parsed by the engine.
 */
export const storedParamsSchema = generationParamsSchema.extend({
  fit: fitSchema.optional(),
  strength: strengthSchema.optional(),
});
export type StoredParams = z.infer<typeof storedParamsSchema>;

/** The first issue of a zod error as { field, message }. */
export function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  const field = issue.path.map(String).join(".") || "body";
  return { field, message: issue.message };
}
