/**
 * Creating a job: validate the request (the shared generation schema plus the kind's fields), check it
 * against the chosen model (sizes and lengths it offers, a distilled sampler only on its distillation) and the referenced upload, store the row with
 * the effective negative prompt, and put it on the queue of its capability class (job-class.ts).
 */
import { StudioError } from "../errors.ts";
import { recipeIssue } from "../engine/schedulers/distilled-recipes.ts";
import { negativePromptFor } from "../engine/text/negative-prompt.ts";
import { enqueueGeneration } from "../queue/generate-queue.ts";
import { publishEvent } from "../queue/events.ts";
import type { JobClass } from "../queue/routing.ts";
import { DEFAULT_FIT, DEFAULT_V2V_STRENGTH, framesForSeconds, storedParamsSchema, type StoredParams } from "../schemas/generation.ts";
import { DEFAULT_PRIORITY, type JobPriority } from "../schemas/job-vocabulary.ts";
import { newId } from "../storage/ids.ts";
import type { JobsContext } from "./context.ts";
import { jobClassOf } from "./job-class.ts";
import { jobJson } from "./job-json.ts";
import { defaultModel, loadModels, type InstalledModel } from "./model-catalog.ts";
import { createJobRequestSchema, type CreateJobRequest, type JobJson } from "./schemas.ts";

export async function chooseModel(ctx: JobsContext, requested: string | undefined): Promise<InstalledModel> {
  const models = await loadModels(ctx.modelsDir, ctx.log);
  if (requested === undefined) {
    const fallback = defaultModel(models);
    // The folder stays out of the answer (it is a server path); the server's own log names it.
    if (!fallback) ctx.log(`no model is installed in ${ctx.modelsDir}`);
    if (!fallback) throw new StudioError("unprocessable", "no model is installed on this studio (install one: npm run models)", "model");
    return fallback;
  }
  const model = models.find((m) => m.name === requested);
  if (!model) {
    const offered = models.map((m) => m.name).join(", ") || "none";
    throw new StudioError("unprocessable", `model ${requested} is not installed (installed: ${offered})`, "model");
  }
  return model;
}

function checkAgainstModel(req: JobSettings, frames: number, model: InstalledModel): void {
  const { defaults } = model.manifest;
  if (!defaults.sizes.some(([w, h]) => w === req.width && h === req.height)) {
    const sizes = defaults.sizes.map(([w, h]) => `${w}x${h}`).join(", ");
    throw new StudioError("unprocessable", `${req.width}x${req.height} is not a size model ${model.name} offers (${sizes})`, "width");
  }
  if (frames > defaults.maxFrames) {
    throw new StudioError(
      "unprocessable",
      `${frames} frames is more than model ${model.name} offers (at most ${defaults.maxFrames})`,
      req.seconds !== undefined ? "seconds" : "frames",
    );
  }
  const recipe = recipeIssue(req, model.manifest.recipe ?? null, model.name);
  if (recipe) throw new StudioError("unprocessable", recipe.message, recipe.field);
}

const withArticle = (noun: string) => (/^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`);

async function checkInput(ctx: JobsContext, req: JobSettings): Promise<string | null> {
  const wanted = req.kind === "i2v" ? { id: req.imageUploadId, kind: "image", field: "imageUploadId" } : req.kind === "v2v" ? { id: req.videoUploadId, kind: "video", field: "videoUploadId" } : undefined;
  if (!wanted?.id) return null;
  const upload = await ctx.db.upload.findUnique({ where: { id: wanted.id } });
  if (!upload) throw new StudioError("unprocessable", `no upload ${wanted.id}`, wanted.field);
  if (upload.kind !== wanted.kind) {
    throw new StudioError("unprocessable", `upload ${wanted.id} is ${withArticle(upload.kind)}; ${req.kind} needs ${withArticle(wanted.kind)}`, wanted.field);
  }
  return upload.id;
}

/** A request checked against this studio: the model, frame count and input upload its jobs use. */
export type CheckedRequest = {
  req: JobSettings;
  model: InstalledModel;
  frames: number;
  inputUploadId: string | null;
  priority: JobPriority;
};

/** The capability class of the jobs of a checked request (job-class.ts): a batch's jobs share it. */
export function jobClassOfChecked({ req, model, frames }: CheckedRequest): JobClass {
  return jobClassOf(model, req.kind, { width: req.width, height: req.height, frames, guidance: req.guidance });
}

/** Everything of a job request but its prompt: what the jobs of one batch share. */
export type JobSettings = Omit<CreateJobRequest, "prompt">;

/** Checks parsed settings against the model, the upload and the server's webhook setup (422 naming the field). */
export async function checkRequest(ctx: JobsContext, req: JobSettings, chosenModel?: InstalledModel): Promise<CheckedRequest> {
  const model = chosenModel ?? (await chooseModel(ctx, req.model));
  const frames = req.frames ?? framesForSeconds(req.seconds!, model.manifest.defaults.fps);
  checkAgainstModel(req, frames, model);
  const inputUploadId = await checkInput(ctx, req);
  if (req.webhookUrl !== undefined && !ctx.acceptsJobWebhooks) {
    throw new StudioError("unprocessable", "this studio sends no webhooks: WEBHOOK_SECRET is not set on the server", "webhookUrl");
  }
  return { req, model, frames, inputUploadId, priority: req.priority ?? DEFAULT_PRIORITY };
}

/** Where a continuation sits in its chain (lib/jobs/continue.ts). */
export type ChainPlace = { continuesJobId: string; chainRootId: string; chainPart: number };

export type JobLinks = { retryOfId?: string; batchId?: string; batchIndex?: number; chain?: ChainPlace };

/** The row of one queued job with these settings, this prompt and seed (undefined: the worker draws one). */
export function queuedJobRow(checked: CheckedRequest, prompt: string, seed: number | undefined, links: JobLinks = {}) {
  const { req, model, frames, inputUploadId, priority } = checked;
  const params: StoredParams = storedParamsSchema.parse({
    prompt,
    ...(req.negativePrompt !== undefined ? { negativePrompt: req.negativePrompt } : {}),
    width: req.width,
    height: req.height,
    frames,
    steps: req.steps,
    guidance: req.guidance,
    shift: req.shift,
    solver: req.solver,
    // Only a seed the user fixed is stored here: a retry of a random-seed job draws a new one.
    ...(seed !== undefined ? { seed } : {}),
    grid: req.grid,
    speed: req.speed,
    ...(req.kind === "i2v" ? { fit: req.fit ?? DEFAULT_FIT } : {}),
    ...(req.kind === "v2v" ? { strength: req.strength ?? DEFAULT_V2V_STRENGTH } : {}),
  });
  return {
    id: newId(),
    kind: req.kind,
    status: "queued",
    prompt,
    negativePrompt: negativePromptFor(req.negativePrompt, model.manifest.variant, req.kind),
    params: JSON.stringify(params),
    seed: seed !== undefined ? BigInt(seed) : null,
    model: model.name,
    inputUploadId,
    retryOfId: links.retryOfId ?? null,
    ...(links.chain ?? {}),
    priority,
    webhookUrl: req.webhookUrl ?? null,
    batchId: links.batchId ?? null,
    batchIndex: links.batchIndex ?? null,
  };
}

/** Tells the clients a job was queued; announced before it is on the queue, so no client sees "started" first. */
export async function announceQueued(ctx: JobsContext, job: JobJson): Promise<void> {
  await publishEvent(ctx.redis, ctx.redisPrefix, { type: "queued", jobId: job.id, job }).catch((e) =>
    ctx.log(`publishing queued for ${job.id} failed: ${(e as Error).message}`),
  );
}

export const QUEUE_UNAVAILABLE = "the job queue is unavailable (is Redis running?)";

export type QueueJobOptions = Pick<JobLinks, "retryOfId" | "chain"> & {
  /** The model already chosen by the caller (a continuation checks it against its previous part first). */
  model?: InstalledModel;
};

export async function createJob(ctx: JobsContext, body: unknown, options: { retryOfId?: string } = {}): Promise<JobJson> {
  return await queueJob(ctx, createJobRequestSchema.parse(body), options);
}

/**
 * A validated request: checked against its model and input upload, stored, announced and queued. A
 * continuation comes here with kind i2v and no upload: its image is its previous part's last frame,
 * which the worker takes (lib/jobs/chain-run.ts).
 */
export async function queueJob(ctx: JobsContext, req: CreateJobRequest, options: QueueJobOptions = {}): Promise<JobJson> {
  const checked = await checkRequest(ctx, req, options.model);
  const row = await ctx.db.job.create({ data: queuedJobRow(checked, req.prompt, req.seed, { retryOfId: options.retryOfId, chain: options.chain }) });
  const job = jobJson(row);
  await announceQueued(ctx, job);
  try {
    await enqueueGeneration(ctx.queue, row.id, jobClassOfChecked(checked), checked.priority);
  } catch (e) {
    // Without the queue nobody would ever run it: do not keep a job that only looks queued.
    await ctx.db.job.deleteMany({ where: { id: row.id } });
    await publishEvent(ctx.redis, ctx.redisPrefix, { type: "deleted", jobId: row.id }).catch(() => {});
    ctx.log(`enqueueing ${row.id} failed: ${(e as Error).message}`);
    throw new StudioError("unavailable", QUEUE_UNAVAILABLE);
  }
  return job;
}
