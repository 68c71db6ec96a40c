/**
 * The generation form's state and its translation to and from the API: defaults from a model, validation
 * with the shared schema (lib/schemas/generation.ts, so the browser shows the server's own messages next
 * to the field), the POST /api/jobs body, server errors mapped back to fields, "reuse settings" from a job,
 * and what is remembered in localStorage. Pure, so it is unit-tested without a browser.
 */
import { z } from "zod";
import {
  BASE_SOLVERS,
  DEFAULT_FIT,
  DEFAULT_V2V_STRENGTH,
  fitSchema,
  generationParamsSchema,
  GRIDS,
  promptField,
  isValidFrameCount,
  SOLVERS,
  SPEEDS,
  strengthSchema,
  validFramesWithin,
  type GenerationInput,
  type Grid,
  type ImageFit,
  type Solver,
  type Speed,
} from "../schemas/generation.ts";
import { BATCH_LIMITS, batchCountSchema, batchSizeIssue, promptLines } from "../schemas/batch.ts";
import type { JobKind, JobView, ModelView } from "./api-types.ts";

export type { Grid, Solver };

/** Numeric inputs are kept as typed text, so a half-typed value can be shown with its error. */
export type FormValues = {
  prompt: string;
  /** null: the model's default negative prompt (sent as "omitted", so the server picks the right one). */
  negativePrompt: string | null;
  model: string;
  width: number;
  height: number;
  frames: number;
  steps: string;
  guidance: string;
  shift: string;
  solver: Solver;
  grid: Grid;
  /** Step caching preset: exact, fast, faster. */
  speed: Speed;
  /** "" draws a random seed. */
  seed: string;
};

/** Kind-specific inputs of image- and video-to-video. */
export type InputValues = {
  imageUploadId?: string;
  fit?: ImageFit;
  videoUploadId?: string;
  strength?: number;
};

export type FormField =
  | "prompt"
  | "negativePrompt"
  | "model"
  | "size"
  | "frames"
  | "steps"
  | "guidance"
  | "shift"
  | "solver"
  | "grid"
  | "speed"
  | "seed"
  | "image"
  | "fit"
  | "video"
  | "strength"
  | "variations"
  | "form";

export type FieldErrors = Partial<Record<FormField, string>>;

export function defaultValues(model: ModelView): FormValues {
  const d = model.defaults;
  return {
    prompt: "",
    negativePrompt: null,
    model: model.name,
    width: d.width,
    height: d.height,
    frames: d.frames,
    steps: String(d.steps),
    guidance: String(d.guidance),
    shift: String(d.shift),
    solver: d.solver,
    grid: "official",
    speed: "exact",
    seed: "",
  };
}

/** The largest valid (4k+1) frame count a model offers. */
export function maxValidFrames(model: ModelView): number {
  return validFramesWithin(model.defaults.maxFrames);
}

/**
 * Values adapted to a model: a size the model does not offer becomes its default size, a frame count
 * beyond its maximum (or not 4k+1) becomes the nearest valid one, a distilled sampler the model was not
 * distilled for (e.g. remembered from another model) becomes its default sampler. Everything else is kept.
 */
export function reconcile(values: FormValues, model: ModelView): FormValues {
  const d = model.defaults;
  const offered = d.sizes.some(([w, h]) => w === values.width && h === values.height);
  let frames = values.frames;
  if (!isValidFrameCount(frames)) frames = d.frames;
  frames = Math.min(frames, maxValidFrames(model));
  return {
    ...values,
    model: model.name,
    width: offered ? values.width : d.width,
    height: offered ? values.height : d.height,
    frames,
    solver: isBaseSolver(values.solver) || values.solver === model.recipe?.solver ? values.solver : d.solver,
  };
}

function isBaseSolver(solver: Solver): boolean {
  return (BASE_SOLVERS as readonly string[]).includes(solver);
}

/** Switching model: the new model's defaults for everything it defines, the user's text kept. */
export function switchModel(values: FormValues, model: ModelView): FormValues {
  return { ...defaultValues(model), prompt: values.prompt, negativePrompt: values.negativePrompt, seed: values.seed, grid: values.grid, speed: values.speed };
}

/** "12" → 12; "" or "1e" → NaN, which the schema reports as "… must be a number". */
export function parseNumber(text: string): number {
  const t = text.trim();
  return t === "" ? Number.NaN : Number(t);
}

/** The generation parameters as the shared schema reads them. */
export function toParams(values: FormValues, defaultNegative: string): GenerationInput {
  const params: GenerationInput = {
    prompt: values.prompt,
    width: values.width,
    height: values.height,
    frames: values.frames,
    steps: parseNumber(values.steps),
    guidance: parseNumber(values.guidance),
    shift: parseNumber(values.shift),
    solver: values.solver,
    grid: values.grid,
    speed: values.speed,
  };
  // Omitted means "the model's default"; sending the default text verbatim would lose the i2v prefix.
  if (values.negativePrompt !== null && values.negativePrompt !== defaultNegative) params.negativePrompt = values.negativePrompt;
  if (values.seed.trim() !== "") params.seed = parseNumber(values.seed);
  return params;
}

/** Maps a field name from the schema or a server error ({error:{field}}) to the form's field. */
export function formFieldFor(field: string | undefined): FormField {
  switch (field) {
    case "prompt":
    case "negativePrompt":
    case "model":
    case "frames":
    case "steps":
    case "guidance":
    case "shift":
    case "solver":
    case "grid":
    case "speed":
    case "seed":
    case "fit":
    case "strength":
      return field;
    case "width":
    case "height":
    case "size":
      return "size";
    case "seconds":
      return "frames";
    case "count":
      return "variations";
    case "imageUploadId":
    case "image":
      return "image";
    case "videoUploadId":
    case "video":
      return "video";
    default:
      // prompts.3: one line of a "one prompt per line" text.
      return field?.startsWith("prompts") ? "prompt" : "form";
  }
}

const inputSchema = z.object({
  imageUploadId: z.string({ error: "choose an image first" }).min(1, "choose an image first").optional(),
  fit: fitSchema.optional(),
  videoUploadId: z.string({ error: "choose a video first" }).min(1, "choose a video first").optional(),
  strength: strengthSchema.optional(),
});

export type ValidationResult = { ok: true; body: Record<string, unknown> } | { ok: false; errors: FieldErrors };

/**
 * Validates the form with the shared schema (every field's first message) and, when valid, returns the
 * POST /api/jobs body. Image- and video-to-video need their upload.
 */
export function validateForm(
  values: FormValues,
  kind: JobKind,
  defaultNegative: string,
  input: InputValues = {},
): ValidationResult {
  const errors: FieldErrors = {};
  const parsed = generationParamsSchema.safeParse(toParams(values, defaultNegative));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = formFieldFor(String(issue.path[0] ?? ""));
      errors[field] ??= issue.message;
    }
  }
  if (kind === "i2v" && !input.imageUploadId) errors.image ??= "choose an image first";
  if (kind === "v2v" && !input.videoUploadId) errors.video ??= "choose a video first";
  const extra = inputSchema.safeParse(input);
  if (!extra.success) {
    for (const issue of extra.error.issues) errors[formFieldFor(String(issue.path[0] ?? ""))] ??= issue.message;
  }
  if (Object.keys(errors).length || !parsed.success) return { ok: false, errors };

  const body: Record<string, unknown> = { kind, model: values.model, ...toParams(values, defaultNegative) };
  // The schema trims the prompt; send what it accepted.
  body.prompt = parsed.data.prompt;
  if (kind === "i2v") {
    body.imageUploadId = input.imageUploadId;
    body.fit = input.fit ?? DEFAULT_FIT;
  }
  if (kind === "v2v") {
    body.videoUploadId = input.videoUploadId;
    body.strength = input.strength ?? DEFAULT_V2V_STRENGTH;
  }
  return { ok: true, body };
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/**
 * The form values that reproduce a job ("reuse settings"): its prompt, its own negative prompt (or the
 * default when it used the default), its parameters, and the seed it actually used so the same video
 * comes out again; the die button clears it for a variation.
 */
export function valuesFromJob(job: JobView): Partial<FormValues> & InputValues {
  const p = job.params ?? {};
  const out: Partial<FormValues> & InputValues = { prompt: job.prompt, model: job.model };
  out.negativePrompt = typeof p.negativePrompt === "string" ? p.negativePrompt : null;
  const width = num(p.width);
  const height = num(p.height);
  if (width !== undefined && height !== undefined) {
    out.width = width;
    out.height = height;
  }
  const frames = num(p.frames);
  if (frames !== undefined) out.frames = frames;
  for (const key of ["steps", "guidance", "shift"] as const) {
    const v = num(p[key]);
    if (v !== undefined) out[key] = String(v);
  }
  const solver = str(p.solver);
  if (solver && (SOLVERS as readonly string[]).includes(solver)) out.solver = solver as Solver;
  const grid = str(p.grid);
  if (grid === "official" || grid === "diffusers") out.grid = grid;
  const speed = str(p.speed);
  if (speed && (SPEEDS as readonly string[]).includes(speed)) out.speed = speed as Speed;
  const seed = job.seed ?? num(p.seed);
  out.seed = seed === undefined || seed === null ? "" : String(seed);
  if (job.kind === "i2v" && job.inputUploadId) out.imageUploadId = job.inputUploadId;
  if (job.kind === "v2v" && job.inputUploadId) out.videoUploadId = job.inputUploadId;
  const fit = str(p.fit);
  if (fit === "crop" || fit === "pad") out.fit = fit;
  const strength = num(p.strength);
  if (strength !== undefined) out.strength = strength;
  return out;
}

/** What localStorage keeps: everything the user set, read back defensively (old or edited entries). */
const storedSchema = z
  .object({
    prompt: z.string().max(10_000),
    negativePrompt: z.string().max(10_000).nullable(),
    model: z.string().max(200),
    width: z.number().int(),
    height: z.number().int(),
    frames: z.number().int(),
    steps: z.string().max(20),
    guidance: z.string().max(20),
    shift: z.string().max(20),
    solver: z.enum(SOLVERS),
    grid: z.enum(GRIDS),
    speed: z.enum(SPEEDS),
    seed: z.string().max(20),
  })
  .partial();

export function parseStoredValues(raw: string | null): Partial<FormValues> {
  if (!raw) return {};
  try {
    const parsed = storedSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) return {};
    const out: Partial<FormValues> = {};
    for (const [k, v] of Object.entries(parsed.data)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
    return out;
  } catch {
    return {};
  }
}

/** Applies remembered or reused values over a model's defaults and keeps the result valid for the model. */
export function restoreValues(models: ModelView[], saved: Partial<FormValues>, fallback: ModelView): FormValues {
  const model = models.find((m) => m.name === saved.model) ?? fallback;
  const base = model.name === saved.model ? { ...defaultValues(model), ...saved } : { ...defaultValues(model), ...pickText(saved) };
  return reconcile(base, model);
}

/** The parts of saved values that make sense for any model. */
function pickText(saved: Partial<FormValues>): Partial<FormValues> {
  const out: Partial<FormValues> = {};
  if (saved.prompt !== undefined) out.prompt = saved.prompt;
  if (saved.negativePrompt !== undefined) out.negativePrompt = saved.negativePrompt;
  if (saved.seed !== undefined) out.seed = saved.seed;
  if (saved.grid !== undefined) out.grid = saved.grid;
  if (saved.speed !== undefined) out.speed = saved.speed;
  return out;
}

/** How many videos one Generate makes: `variations` seeds of each prompt, the prompts one per line or the whole text. */
export type BatchChoice = { variations: string; perLine: boolean };

export const SINGLE: BatchChoice = { variations: "1", perLine: false };

export type SubmissionResult =
  | { ok: true; endpoint: "/api/jobs" | "/api/batches"; body: Record<string, unknown>; videos: number }
  | { ok: false; errors: FieldErrors };

/**
 * The form with its batch choice: validated like one job (in per-line mode each line is a prompt of its
 * own), then sent to POST /api/jobs for one video or to POST /api/batches for several (count seeds
 * s, s+1, … of each prompt; the server draws s once when the seed is random).
 */
export function validateSubmission(
  values: FormValues,
  kind: JobKind,
  defaultNegative: string,
  input: InputValues = {},
  choice: BatchChoice = SINGLE,
): SubmissionResult {
  const lines = choice.perLine ? promptLines(values.prompt) : [];
  const single = validateForm(choice.perLine ? { ...values, prompt: lines[0] ?? "" } : values, kind, defaultNegative, input);
  const errors: FieldErrors = single.ok ? {} : { ...single.errors };
  if (choice.perLine) {
    if (!lines.length) errors.prompt = "write at least one prompt, one per line";
    lines.forEach((line, i) => {
      const r = promptField(`line ${i + 1}`).safeParse(line);
      if (!r.success) errors.prompt ??= r.error.issues[0].message;
    });
  }
  const count = batchCountSchema.safeParse(parseNumber(choice.variations));
  if (!count.success) errors.variations = count.error.issues[0].message.replace(/^count/, "variations");
  else {
    const tooMany = batchSizeIssue(Math.max(1, lines.length), count.data);
    if (tooMany) errors.variations = tooMany.replace("count", "variations");
  }
  if (!single.ok || Object.keys(errors).length) return { ok: false, errors };

  const prompts = choice.perLine ? lines : [single.body.prompt as string];
  const videos = prompts.length * count.data!;
  if (videos === 1) return { ok: true, endpoint: "/api/jobs", body: { ...single.body, prompt: prompts[0] }, videos };
  const body: Record<string, unknown> = { ...single.body, count: count.data };
  if (choice.perLine) {
    delete body.prompt;
    body.prompts = prompts;
  }
  return { ok: true, endpoint: "/api/batches", body, videos };
}

/** What Generate will make, in words: "4 videos: seeds 7 … 10", "2 prompts × 3 seeds = 6 videos". */
export function batchSummary(prompts: number, variations: number, seed: string): string {
  const videos = prompts * variations;
  if (!Number.isInteger(variations) || variations < 1) return `Each prompt is made with this many seeds (1–${BATCH_LIMITS.maxJobs}).`;
  if (videos === 1) return "1 video.";
  const first = seed.trim() === "" ? null : Number(seed);
  const seeds =
    variations === 1
      ? first === null
        ? "one random seed shared by all"
        : `seed ${first} for each`
      : first === null || !Number.isFinite(first)
        ? `seeds s … s+${variations - 1} from one random s`
        : `seeds ${first} … ${first + variations - 1}`;
  return prompts > 1 ? `${prompts} prompts × ${variations} = ${videos} videos, ${seeds}.` : `${videos} videos, ${seeds}.`;
}
