/**
 * Creating a job: validate the request (the shared generation schema plus the kind's fields), check it
 * against the chosen model (sizes and lengths it offers, a distilled sampler only on its distillation) and the referenced upload, store the row with
 * the effective negative prompt, and put it on the queue.
 */
import { StudioError } from "../errors.ts";
import { recipeIssue } from "../engine/schedulers/distilled-recipes.ts";
import { negativePromptFor } from "../engine/text/negative-prompt.ts";
import { enqueueGeneration } from "../queue/generate-queue.ts";
import { publishEvent } from "../queue/events.ts";
import { DEFAULT_FIT, DEFAULT_V2V_STRENGTH, framesForSeconds, storedParamsSchema, type StoredParams } from "../schemas/generation.ts";
import { DEFAULT_PRIORITY } from "../schemas/job-vocabulary.ts";
import { newId } from "../storage/ids.ts";
import type { JobsContext } from "./context.ts";
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

function checkAgainstModel(req: CreateJobRequest, frames: number, model: InstalledModel): void {
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

async function checkInput(ctx: JobsContext, req: CreateJobRequest): Promise<string | null> {
  const wanted = req.kind === "i2v" ? { id: req.imageUploadId, kind: "image", field: "imageUploadId" } : req.kind === "v2v" ? { id: req.videoUploadId, kind: "video", field: "videoUploadId" } : undefined;
  if (!wanted?.id) return null;
  const upload = await ctx.db.upload.findUnique({ where: { id: wanted.id } });
  if (!upload) throw new StudioError("unprocessable", `no upload ${wanted.id}`, wanted.field);
  if (upload.kind !== wanted.kind) {
    throw new StudioError("unprocessable", `upload ${wanted.id} is ${withArticle(upload.kind)}; ${req.kind} needs ${withArticle(wanted.kind)}`, wanted.field);
  }
  return upload.id;
}

/** Where a continuation sits in its chain (lib/jobs/continue.ts). */
export type ChainPlace = { continuesJobId: string; chainRootId: string; chainPart: number };

export type QueueJobOptions = {
  retryOfId?: string;
  chain?: ChainPlace;
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
  const model = options.model ?? (await chooseModel(ctx, req.model));
  const frames = req.frames ?? framesForSeconds(req.seconds!, model.manifest.defaults.fps);
  checkAgainstModel(req, frames, model);
  const inputUploadId = await checkInput(ctx, req);
  if (req.webhookUrl !== undefined && !ctx.acceptsJobWebhooks) {
    throw new StudioError("unprocessable", "this studio sends no webhooks: WEBHOOK_SECRET is not set on the server", "webhookUrl");
  }
  const priority = req.priority ?? DEFAULT_PRIORITY;

  const params: StoredParams = storedParamsSchema.parse({
    prompt: req.prompt,
    ...(req.negativePrompt !== undefined ? { negativePrompt: req.negativePrompt } : {}),
    width: req.width,
    height: req.height,
    frames,
    steps: req.steps,
    guidance: req.guidance,
    shift: req.shift,
    solver: req.solver,
    // Only a seed the user fixed is stored here: a retry of a random-seed job draws a new one.
    ...(req.seed !== undefined ? { seed: req.seed } : {}),
    grid: req.grid,
    speed: req.speed,
    ...(req.kind === "i2v" ? { fit: req.fit ?? DEFAULT_FIT } : {}),
    ...(req.kind === "v2v" ? { strength: req.strength ?? DEFAULT_V2V_STRENGTH } : {}),
  });

  const row = await ctx.db.job.create({
    data: {
      id: newId(),
      kind: req.kind,
      status: "queued",
      prompt: req.prompt,
      negativePrompt: negativePromptFor(req.negativePrompt, model.manifest.variant, req.kind),
      params: JSON.stringify(params),
      seed: req.seed !== undefined ? BigInt(req.seed) : null,
      model: model.name,
      inputUploadId,
      retryOfId: options.retryOfId ?? null,
      ...(options.chain ?? {}),
      priority,
      webhookUrl: req.webhookUrl ?? null,
    },
  });
  const job = jobJson(row);
  // Announced before it is on the queue, so no client can see "started" before "queued".
  await publishEvent(ctx.redis, ctx.redisPrefix, { type: "queued", jobId: row.id, job }).catch((e) =>
    ctx.log(`publishing queued for ${row.id} failed: ${(e as Error).message}`),
  );
  try {
    await enqueueGeneration(ctx.queue, row.id, priority);
  } catch (e) {
    // Without the queue nobody would ever run it: do not keep a job that only looks queued.
    await ctx.db.job.deleteMany({ where: { id: row.id } });
    await publishEvent(ctx.redis, ctx.redisPrefix, { type: "deleted", jobId: row.id }).catch(() => {});
    ctx.log(`enqueueing ${row.id} failed: ${(e as Error).message}`);
    throw new StudioError("unavailable", "the job queue is unavailable (is Redis running?)");
  }
  return job;
}
