/**
 * Continue a clip: a new job that starts from the last frame of a succeeded job and carries its chain on.
 * It is an image-to-video job whose image is that frame (taken by the worker from the previous part's
 * MP4, lib/jobs/chain-run.ts): CLIP + mask conditioning on an i2v model, the held first latent frame on
 * a t2v model (lib/engine/pipeline.ts, imageConditioning), exactly as for an uploaded image. When it
 * succeeds the worker also writes the chain's joined MP4 (lib/video/join.ts).
 *
 * Omitted settings are the previous part's (the seed is drawn anew unless given); the size is always
 * the previous part's, since the parts are joined frame for frame.
 */
import { existsSync } from "node:fs";
import { StudioError } from "../errors.ts";
import type { JobRow } from "../db/client.ts";
import { framesForSeconds, generationParamsSchema, type StoredParams } from "../schemas/generation.ts";
import { probeVideo } from "../video/probe.ts";
import type { JobsContext } from "./context.ts";
import { chooseModel, queueJob } from "./create.ts";
import { findJob } from "./find.ts";
import { continueJobRequestSchema, type CreateJobRequest, type JobJson } from "./schemas.ts";

/** The previous part's video, checked to be there: 409 unless it succeeded, 422 when its file is gone. */
async function previousPartVideo(ctx: JobsContext, row: JobRow): Promise<{ file: string; fps: number }> {
  if (row.status !== "succeeded") {
    throw new StudioError("conflict", `job ${row.id} is ${row.status}; only a succeeded job can be continued`, "id");
  }
  const file = row.videoFile ? ctx.storage.jobFile(row.id, row.videoFile) : null;
  const gone = () => new StudioError("unprocessable", `the video of job ${row.id} is no longer in storage; it cannot be continued`, "id");
  if (!file || !existsSync(file)) throw gone();
  try {
    return { file, fps: (await probeVideo(file)).fps };
  } catch (e) {
    ctx.log(`job ${row.id}: its video cannot be read: ${(e as Error).message}`);
    throw gone();
  }
}

export async function continueJob(ctx: JobsContext, id: string, body: unknown, options: { retryOfId?: string } = {}): Promise<JobJson> {
  const given = continueJobRequestSchema.parse(body);
  const previous = await findJob(ctx, id);
  const video = await previousPartVideo(ctx, previous);

  const model = await chooseModel(ctx, given.model ?? previous.model);
  // The parts are joined frame for frame: they must play at one rate.
  if (model.manifest.defaults.fps !== video.fps) {
    throw new StudioError(
      "unprocessable",
      `model ${model.name} renders at ${model.manifest.defaults.fps} fps; the clip it would continue plays at ${video.fps} fps`,
      "model",
    );
  }

  const inherited = JSON.parse(previous.params) as StoredParams;
  const frames = given.frames ?? (given.seconds !== undefined ? framesForSeconds(given.seconds, model.manifest.defaults.fps) : inherited.frames);
  // The previous part's fixed seed is not inherited: the same noise again would repeat its motion.
  const params = generationParamsSchema.parse({
    prompt: given.prompt ?? previous.prompt,
    ...(given.negativePrompt !== undefined ? { negativePrompt: given.negativePrompt } : inherited.negativePrompt !== undefined ? { negativePrompt: inherited.negativePrompt } : {}),
    width: inherited.width,
    height: inherited.height,
    frames,
    steps: given.steps ?? inherited.steps,
    guidance: given.guidance ?? inherited.guidance,
    shift: given.shift ?? inherited.shift,
    solver: given.solver ?? inherited.solver,
    ...(given.seed !== undefined ? { seed: given.seed } : {}),
    grid: given.grid ?? inherited.grid,
    speed: given.speed ?? inherited.speed,
  });
  const webhookUrl = given.webhookUrl ?? (ctx.acceptsJobWebhooks ? (previous.webhookUrl ?? undefined) : undefined);
  const request: CreateJobRequest = {
    ...params,
    kind: "i2v",
    model: model.name,
    // The last frame has the output's exact size, so cropping it changes nothing.
    fit: "crop",
    priority: given.priority ?? (previous.priority as CreateJobRequest["priority"]),
    ...(webhookUrl !== undefined ? { webhookUrl } : {}),
  };
  return await queueJob(ctx, request, {
    model,
    retryOfId: options.retryOfId,
    chain: { continuesJobId: previous.id, chainRootId: previous.chainRootId ?? previous.id, chainPart: previous.chainPart + 1 },
  });
}
