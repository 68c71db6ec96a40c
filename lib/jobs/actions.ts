/**
 * The verbs on one job: get, cancel, retry, delete. State changes are conditional updates ("set
 * canceled where status is still queued"), so the API and a worker racing on the same job always agree
 * on one outcome without locks.
 */
import { StudioError } from "../errors.ts";
import type { JobRow } from "../db/client.ts";
import { publishCancel } from "../queue/cancel.ts";
import { publishEvent } from "../queue/events.ts";
import type { JobsContext } from "./context.ts";
import { jobJsonWithChain } from "./chain.ts";
import { continueJob } from "./continue.ts";
import { removeStoredCheckpoint } from "./checkpoints.ts";
import { createJob } from "./create.ts";
import { findJob } from "./find.ts";
import { jobJson } from "./job-json.ts";
import type { JobJson } from "./schemas.ts";

export async function getJob(ctx: JobsContext, id: string): Promise<JobJson> {
  return await jobJsonWithChain(ctx, await findJob(ctx, id));
}

/**
 * Queued: taken off the queue and marked canceled (a worker that grabbed it at that moment sees the
 * status and skips it). Running: marked canceled, and every worker is told to abort it; the one running
 * it stops within a step and records its timings. Returns whether this call changed the job.
 */
export async function stopJob(ctx: JobsContext, row: JobRow): Promise<boolean> {
  const canceled = { status: "canceled", finishedAt: new Date(), etaS: null };
  if (row.status === "queued") {
    // 0 when a worker holds it already: then the row's status decides below.
    await ctx.queue.remove(row.id).catch(() => 0);
    const r = await ctx.db.job.updateMany({ where: { id: row.id, status: "queued" }, data: canceled });
    if (r.count) {
      await publishCancel(ctx.redis, ctx.redisPrefix, row.id);
      return true;
    }
  }
  const r = await ctx.db.job.updateMany({ where: { id: row.id, status: "running" }, data: canceled });
  if (r.count) await publishCancel(ctx.redis, ctx.redisPrefix, row.id);
  return r.count > 0;
}

export async function cancelJob(ctx: JobsContext, id: string): Promise<JobJson> {
  const row = await findJob(ctx, id);
  if (row.status === "succeeded" || row.status === "failed") {
    throw new StudioError("conflict", `job ${id} already ${row.status}; there is nothing to cancel`, "id");
  }
  if (await stopJob(ctx, row)) await publishEvent(ctx.redis, ctx.redisPrefix, { type: "canceled", jobId: id });
  return jobJson(await findJob(ctx, id));
}

/** A new job with the same settings (a fixed seed stays fixed, a random one is drawn again). */
export async function retryJob(ctx: JobsContext, id: string): Promise<JobJson> {
  const row = await findJob(ctx, id);
  if (row.status === "queued" || row.status === "running") {
    throw new StudioError("conflict", `job ${id} is ${row.status}; retry it once it has finished`, "id");
  }
  const params = JSON.parse(row.params) as Record<string, unknown>;
  // A checkpoint a crashed attempt left (a job failed after its last retry) is no use to the new job.
  await removeStoredCheckpoint(ctx.storage, row.id);
  if (row.chainPart > 1) return await retryContinuation(ctx, row, params);
  if (row.kind !== "t2v" && !row.inputUploadId) {
    throw new StudioError("conflict", `the input upload of job ${id} was deleted; it cannot be run again`, "id");
  }
  const body = {
    ...params,
    kind: row.kind,
    model: row.model,
    priority: row.priority,
    ...(row.webhookUrl ? { webhookUrl: row.webhookUrl } : {}),
    ...(row.kind === "i2v" ? { imageUploadId: row.inputUploadId } : {}),
    ...(row.kind === "v2v" ? { videoUploadId: row.inputUploadId } : {}),
  };
  return await createJob(ctx, body, { retryOfId: row.id });
}

/** A continuation again: the same previous part, the same settings (a fixed seed stays fixed). */
async function retryContinuation(ctx: JobsContext, row: JobRow, params: Record<string, unknown>): Promise<JobJson> {
  if (!row.continuesJobId) {
    throw new StudioError("conflict", `the clip job ${row.id} continued was deleted; it cannot be run again`, "id");
  }
  const { prompt, negativePrompt, frames, steps, guidance, shift, solver, seed, grid, speed } = params;
  const body = {
    prompt, negativePrompt, frames, steps, guidance, shift, solver, seed, grid, speed,
    model: row.model,
    priority: row.priority,
    ...(row.webhookUrl ? { webhookUrl: row.webhookUrl } : {}),
  };
  return await continueJob(ctx, row.continuesJobId, body, { retryOfId: row.id });
}

/**
 * Cancels the job if it is still to run or running, then removes its row and its files. The jobs that
 * continue it lose their link to it (continuesJobId becomes null) but keep their own files, their joined
 * chain video (which holds this job's frames) and their place in the chain.
 */
export async function deleteJob(ctx: JobsContext, id: string): Promise<void> {
  const row = await findJob(ctx, id);
  if (row.status === "queued" || row.status === "running") await stopJob(ctx, row);
  await ctx.db.job.updateMany({ where: { continuesJobId: id }, data: { continuesJobId: null } });
  await ctx.db.job.deleteMany({ where: { id } });
  // A worker still finishing it finds the row gone and removes anything it wrote after this.
  await ctx.storage.removeJobFiles(id);
  await publishEvent(ctx.redis, ctx.redisPrefix, { type: "deleted", jobId: id });
}
