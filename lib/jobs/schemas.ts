/**
 * The jobs API's shapes, as zod schemas: what a client may send (built on the one generation-parameter
 * schema, lib/schemas/generation.ts) and what the studio answers. The route handlers parse with them,
 * and /api/openapi.json is generated from them, so the documentation cannot drift from the checks.
 */
import { z } from "zod";
import { DISTILLED_RECIPES, fitSchema, generationParamsSchema, MAX_PROMPT_CHARS, MAX_SEED, SOLVERS, strengthSchema, textField } from "../schemas/generation.ts";
import { batchCountSchema, batchPromptsSchema, batchSizeIssue } from "../schemas/batch.ts";
import { JOB_KINDS, JOB_PRIORITIES, JOB_STATUSES } from "../schemas/job-vocabulary.ts";
import { idField } from "../storage/ids.ts";
import { webhookUrlSchema } from "../webhooks/url.ts";
import { generationDefaultsSchema } from "../../models/manifest.ts";
import { PRECISIONS } from "../../models/nn.ts";

export type { JobKind, JobStatus } from "../schemas/job-vocabulary.ts";

/** Model folder names: what `models/` writes (letters, digits, dot, dash, underscore). */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Longest clip a request may ask for in seconds (the frame cap of the schema applies too). */
export const MAX_SECONDS = 20;

/** The fields of a job request, before the rules that tie them together (checkJobRequest). */
const jobRequestFields = generationParamsSchema
  .extend({
    kind: z.enum(JOB_KINDS, { error: `kind must be one of ${JOB_KINDS.join(", ")}` }).default("t2v"),
    model: z
      .string({ error: "model must be a string" })
      .regex(MODEL_NAME, "model must be the name of an installed model")
      .optional(),
    frames: generationParamsSchema.shape.frames.optional(),
    /** Instead of frames: the duration, turned into the nearest valid frame count at the model's fps. */
    seconds: z
      .number({ error: "seconds must be a number" })
      .positive("seconds must be > 0")
      .max(MAX_SECONDS, `seconds must be at most ${MAX_SECONDS}`)
      .optional(),
    imageUploadId: idField("imageUploadId").optional(),
    fit: fitSchema.optional(),
    videoUploadId: idField("videoUploadId").optional(),
    strength: strengthSchema.optional(),
    /** The band it waits in (default normal); changeable while it waits (POST /api/jobs/:id/priority). */
    priority: z.enum(JOB_PRIORITIES, { error: `priority must be one of ${JOB_PRIORITIES.join(", ")}` }).optional(),
    /** Called (signed POST) when the job ends, besides the global WEBHOOK_URL. */
    webhookUrl: webhookUrlSchema("webhookUrl").optional(),
  });

type JobRequestFields = Omit<z.infer<typeof jobRequestFields>, "prompt">;

/** The rules across fields, shared by a single job's request and a batch's. */
function checkJobRequest(v: JobRequestFields, ctx: z.RefinementCtx): void {
  const issue = (field: string, message: string) => ctx.addIssue({ code: "custom", path: [field], message });
  if (v.frames === undefined && v.seconds === undefined) issue("frames", "frames (or seconds) is required");
  if (v.frames !== undefined && v.seconds !== undefined) issue("seconds", "give frames or seconds, not both");
  if (v.kind === "i2v" && v.imageUploadId === undefined) issue("imageUploadId", "imageUploadId is required for i2v");
  if (v.kind !== "i2v" && v.imageUploadId !== undefined) issue("imageUploadId", "imageUploadId is only for i2v");
  if (v.kind !== "i2v" && v.fit !== undefined) issue("fit", "fit is only for i2v");
  if (v.kind === "v2v" && v.videoUploadId === undefined) issue("videoUploadId", "videoUploadId is required for v2v");
  if (v.kind !== "v2v" && v.videoUploadId !== undefined) issue("videoUploadId", "videoUploadId is only for v2v");
  if (v.kind !== "v2v" && v.strength !== undefined) issue("strength", "strength is only for v2v");
}

export const createJobRequestSchema = jobRequestFields.strict().superRefine(checkJobRequest);

export type CreateJobRequest = z.infer<typeof createJobRequestSchema>;

/** Settings a continuation cannot change: the join needs the previous part's frame size. */
const FIXED_BY_PREVIOUS_PART = ["width", "height", "kind", "imageUploadId", "videoUploadId", "fit", "strength"] as const;

/**
 * POST /api/jobs/:id/continue: every field optional. Omitted fields keep the previous part's settings
 * (prompt, negative prompt, frames, steps, guidance, shift, solver, grid, speed, model, priority and
 * webhook); the seed is drawn anew unless given. The size is always the previous part's.
 */
const continueJobRequestShape = {
    prompt: generationParamsSchema.shape.prompt.optional(),
    negativePrompt: generationParamsSchema.shape.negativePrompt,
    frames: generationParamsSchema.shape.frames.optional(),
    seconds: createJobRequestSchema.shape.seconds,
    steps: generationParamsSchema.shape.steps.optional(),
    guidance: generationParamsSchema.shape.guidance.optional(),
    shift: generationParamsSchema.shape.shift.optional(),
    solver: generationParamsSchema.shape.solver.optional(),
    seed: generationParamsSchema.shape.seed,
    grid: generationParamsSchema.shape.grid.unwrap().optional(),
    speed: generationParamsSchema.shape.speed.unwrap().optional(),
    model: createJobRequestSchema.shape.model,
    priority: createJobRequestSchema.shape.priority,
    webhookUrl: createJobRequestSchema.shape.webhookUrl,
};

export const continueJobRequestSchema = z
  // Loose, so the check below sees the other fields and can say why a fixed one is refused.
  .looseObject(continueJobRequestShape)
  .superRefine((v, ctx) => {
    const given = v as Record<string, unknown>;
    for (const field of Object.keys(given)) {
      if (!(field in continueJobRequestShape)) {
        const fixed = (FIXED_BY_PREVIOUS_PART as readonly string[]).includes(field);
        ctx.addIssue({
          code: "custom",
          path: [field],
          message: fixed ? `${field} is the previous part's: a continuation keeps its size and starts from its last frame` : `unknown field: ${field}`,
        });
      }
    }
    if (v.frames !== undefined && v.seconds !== undefined) ctx.addIssue({ code: "custom", path: ["seconds"], message: "give frames or seconds, not both" });
  });
export type ContinueJobRequest = z.infer<typeof continueJobRequestSchema>;
export type CreateJobInput = z.input<typeof createJobRequestSchema>;

export type { StoredParams } from "../schemas/generation.ts";

/**
 * One submit, several jobs (lib/jobs/batches.ts): a job request whose `prompt` may be a list (`prompts`,
 * one job each) and which asks for `count` seeds per prompt: seed, seed+1, …, seed+count−1, the same
 * seeds for every prompt (so the prompts are compared on the same noise). Without a seed one is drawn
 * once for the whole batch, so a batch is reproducible from its first job's seed.
 */
export const createBatchRequestSchema = jobRequestFields
  .extend({
    prompt: jobRequestFields.shape.prompt.optional(),
    prompts: batchPromptsSchema.optional(),
    count: batchCountSchema.default(1),
  })
  .strict()
  .superRefine((v, ctx) => {
    const issue = (field: string, message: string) => ctx.addIssue({ code: "custom", path: [field], message });
    if (v.prompt === undefined && v.prompts === undefined) issue("prompt", "prompt (or prompts) is required");
    if (v.prompt !== undefined && v.prompts !== undefined) issue("prompts", "give prompt or prompts, not both");
    const tooMany = batchSizeIssue(v.prompts?.length ?? 1, v.count);
    if (tooMany) issue("count", tooMany);
    if (v.seed !== undefined && v.seed + v.count - 1 > MAX_SEED) issue("seed", `seed + count − 1 must be ≤ ${MAX_SEED}`);
    checkJobRequest(v, ctx);
  });
export type CreateBatchRequest = z.infer<typeof createBatchRequestSchema>;

const statusList = z
  .string()
  .transform((s) => s.split(",").map((x) => x.trim()))
  .pipe(z.array(z.enum(JOB_STATUSES, { error: `status must be one or more of ${JOB_STATUSES.join(", ")}` })));

export const listJobsQuerySchema = z.object({
  cursor: z.string().max(200, "cursor is not valid").optional(),
  limit: z.coerce
    .number({ error: "limit must be a number" })
    .int("limit must be an integer")
    .min(1, "limit must be between 1 and 100")
    .max(100, "limit must be between 1 and 100")
    .default(24),
  /** One status, or several separated by commas (e.g. queued,running for a queue panel). */
  status: statusList.optional(),
  kind: z.enum(JOB_KINDS, { error: `kind must be one of ${JOB_KINDS.join(", ")}` }).optional(),
  /** "true": only continuations (part 2 on of a chain, stored as i2v); "false": none of them. */
  continued: z.enum(["true", "false"], { error: "continued must be true or false" }).optional(),
  /** Only the jobs of this batch. */
  batch: idField("batch").optional(),
  /** Case-insensitive substring of the prompt. */
  q: textField("q").trim().max(MAX_PROMPT_CHARS, `q must be at most ${MAX_PROMPT_CHARS} characters`).optional(),
});
export type ListJobsQuery = z.infer<typeof listJobsQuerySchema>;

const nullableString = z.string().nullable();

export const jobSchema = z.object({
  id: z.string(),
  kind: z.enum(JOB_KINDS),
  status: z.enum(JOB_STATUSES),
  prompt: z.string(),
  /** The negative prompt in effect: the user's, or the model's default when none was given. */
  negativePrompt: z.string(),
  /** The validated request parameters; `seed` only when the user fixed one. */
  params: z.record(z.string(), z.unknown()),
  /** The seed used (for a random seed: once the worker has drawn it). */
  seed: z.number().nullable(),
  model: z.string(),
  inputUploadId: nullableString,
  phase: nullableString,
  step: z.number().int(),
  totalSteps: z.number().int(),
  /** The whole job's progress, 0…1. */
  progress: z.number().min(0).max(1),
  etaS: z.number().nullable(),
  error: nullableString,
  /** Seconds per phase; once succeeded also the DiT pass counts `ditCalls`, `ditCallsSkipped` (lib/schemas/dit-calls.ts). */
  timings: z.record(z.string(), z.number()).nullable(),
  attempts: z.number().int(),
  /**
   * The denoising steps done when an attempt continued from the checkpoint an earlier attempt left (a worker
   * crashed mid-denoise; CHECKPOINT_EVERY_STEPS); null: the job ran from its first step.
   */
  resumedFromStep: z.number().int().nullable(),
  createdAt: z.string(),
  startedAt: nullableString,
  finishedAt: nullableString,
  videoUrl: nullableString,
  posterUrl: nullableString,
  previewUrl: nullableString,
  inputThumbnailUrl: nullableString,
  retryOfId: nullableString,
  /** The job whose last frame this one continues (its previous part); null when none, or once that job is deleted. */
  continuesJobId: nullableString,
  /** The chain this job is a part of; null for a clip that neither continues nor is continued. */
  chain: z
    .object({
      /** The first part's id (which may have been deleted since). */
      rootId: z.string(),
      /** This job's position, 1 for the first part. */
      part: z.number().int(),
      /** The number of the chain's last part (its longest branch, when a part was continued twice). */
      parts: z.number().int(),
      /** The jobs that continue this one, oldest first (only in GET /api/jobs/:id and GET /api/jobs). */
      nextIds: z.array(z.string()),
      /** The joined MP4 of parts 1…part (the chain up to here), once this part has succeeded; null for part 1. */
      videoUrl: nullableString,
    })
    .nullable(),
  priority: z.enum(JOB_PRIORITIES),
  /** Whether the job has a webhook URL of its own (the URL itself is not shown: it may hold a token). */
  hasWebhook: z.boolean(),
  /** The batch it was made in (GET /api/batches/{batchId}), and its place there from 0; null for a job made alone. */
  batchId: nullableString,
  batchIndex: z.number().int().nullable(),
});
export type JobJson = z.infer<typeof jobSchema>;

const statusCounts = z.object(Object.fromEntries(JOB_STATUSES.map((s) => [s, z.number().int()])) as Record<(typeof JOB_STATUSES)[number], z.ZodNumber>);

/** A batch: its jobs in batch order, and how many are in each status. */
export const batchSchema = z.object({
  id: z.string(),
  /** How many jobs it has now (deleting one of them shrinks it). */
  size: z.number().int(),
  /** Jobs per status, every status present. */
  counts: statusCounts,
  /** True while any of its jobs is queued or running. */
  active: z.boolean(),
  createdAt: z.string(),
  jobs: z.array(jobSchema),
});
export type BatchJson = z.infer<typeof batchSchema>;

export const jobListSchema = z.object({ jobs: z.array(jobSchema), nextCursor: z.string().nullable() });
export type JobList = z.infer<typeof jobListSchema>;

export const uploadSchema = z.object({
  id: z.string(),
  kind: z.enum(["image", "video"]),
  mime: z.string(),
  /** The client's file name, for display only. */
  originalName: z.string(),
  bytes: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  frames: z.number().int().nullable(),
  fps: z.number().nullable(),
  createdAt: z.string(),
  fileUrl: z.string(),
  thumbnailUrl: z.string().nullable(),
});
export type UploadJson = z.infer<typeof uploadSchema>;

export const modelSchema = z.object({
  name: z.string(),
  variant: z.enum(["t2v", "i2v"]),
  tiny: z.boolean(),
  defaults: generationDefaultsSchema,
  defaultNegativePrompt: z.string(),
  /** How image-to-video works on this model: the i2v variant conditions on CLIP features, t2v holds the first frame. */
  imageToVideo: z.enum(["first-frame", "clip-conditioning"]),
  /** True for the studio's default model (used when a request names none). */
  default: z.boolean(),
  /** The DiT's weights precision (null for a folder without components). */
  precision: z.enum(PRECISIONS).nullable(),
  sizeBytes: z.number().int(),
  /** Where it was installed from: `hf://<repo>@<revision>` or the converted path. */
  source: z.string(),
  installedAt: z.string(),
  /** A few-step distilled model's recipe (its defaults already use it): the studio's "Fast (N steps)" preset. */
  recipe: z
    .object({ name: z.enum(DISTILLED_RECIPES), label: z.string(), solver: z.enum(SOLVERS), steps: z.number().int(), guidance: z.number() })
    .nullable()
    .optional(),
});
export type ModelJson = z.infer<typeof modelSchema>;

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});

export const loginRequestSchema = z.strictObject({ token: z.string({ error: "token is required" }).min(1, "token is required").max(1024) });
