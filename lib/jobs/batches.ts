/**
 * Batches: one submit that makes several jobs, either `count` seeds of one prompt (seed, seed+1, …) or a
 * list of prompts (each with the same seeds). The jobs are ordinary jobs carrying `batchId` and
 * `batchIndex`; a batch is the set of jobs sharing an id, so deleting one job simply shrinks it.
 * Creating is all or nothing: every row in one transaction, every queue entry in one MULTI, and if the
 * queue refuses, the rows and any queue entries that got in are removed again.
 */
import { notFound, StudioError } from "../errors.ts";
import type { JobRow } from "../db/client.ts";
import { randomSeed } from "../engine/noise.ts";
import { enqueueGenerations } from "../queue/generate-queue.ts";
import { publishEvent } from "../queue/events.ts";
import { isActive, JOB_STATUSES } from "../schemas/job-vocabulary.ts";
import { isValidId, newId } from "../storage/ids.ts";
import { stopJob } from "./actions.ts";
import type { JobsContext } from "./context.ts";
import { announceQueued, checkRequest, jobClassOfChecked, QUEUE_UNAVAILABLE, queuedJobRow } from "./create.ts";
import { jobJson } from "./job-json.ts";
import { createBatchRequestSchema, type BatchJson, type JobStatus } from "./schemas.ts";

function batchJson(id: string, rows: JobRow[]): BatchJson {
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  for (const row of rows) counts[row.status as JobStatus] += 1;
  return {
    id,
    size: rows.length,
    counts,
    active: rows.some((r) => isActive(r.status as JobStatus)),
    createdAt: rows[0].createdAt.toISOString(),
    jobs: rows.map((row) => jobJson(row)),
  };
}

async function findBatchRows(ctx: JobsContext, id: string): Promise<JobRow[]> {
  // A malformed id cannot name a batch: same answer as an unknown one.
  const rows = isValidId(id) ? await ctx.db.job.findMany({ where: { batchId: id }, orderBy: { batchIndex: "asc" } }) : [];
  if (!rows.length) throw notFound(`batch ${id}`);
  return rows;
}

export async function createBatch(ctx: JobsContext, body: unknown): Promise<BatchJson> {
  const { prompt, prompts, count, ...settings } = createBatchRequestSchema.parse(body);
  const checked = await checkRequest(ctx, settings);
  // Drawn once here rather than per job by the worker: the batch's seeds are then known and consecutive.
  const firstSeed = settings.seed ?? randomSeed();
  const batchId = newId();
  // One creation time for all, so the history lists them together.
  const createdAt = new Date();
  const data = (prompts ?? [prompt!]).flatMap((text, p) =>
    Array.from({ length: count }, (_, s) => ({
      ...queuedJobRow(checked, text, firstSeed + s, { batchId, batchIndex: p * count + s }),
      createdAt,
    })),
  );
  const rows = await ctx.db.$transaction(data.map((d) => ctx.db.job.create({ data: d })));
  const ids = rows.map((r) => r.id);
  for (const row of rows) await announceQueued(ctx, jobJson(row));
  try {
    await enqueueGenerations(ctx.queue, ids, jobClassOfChecked(checked), checked.priority);
  } catch (e) {
    ctx.log(`enqueueing batch ${batchId} failed: ${(e as Error).message}`);
    await Promise.all(ids.map((id) => ctx.queue.remove(id).catch(() => 0)));
    await ctx.db.job.deleteMany({ where: { batchId } });
    for (const id of ids) await publishEvent(ctx.redis, ctx.redisPrefix, { type: "deleted", jobId: id }).catch(() => {});
    throw new StudioError("unavailable", QUEUE_UNAVAILABLE);
  }
  return batchJson(batchId, rows);
}

export async function getBatch(ctx: JobsContext, id: string): Promise<BatchJson> {
  return batchJson(id, await findBatchRows(ctx, id));
}

/**
 * Stops the batch's queued jobs, then its running ones: in that order, so a worker freed by a cancel
 * does not start the next job of the same batch meanwhile.
 */
async function stopBatch(ctx: JobsContext, rows: JobRow[]): Promise<void> {
  const order = [...rows.filter((r) => r.status === "queued"), ...rows.filter((r) => r.status === "running")];
  for (const row of order) {
    if (await stopJob(ctx, row)) await publishEvent(ctx.redis, ctx.redisPrefix, { type: "canceled", jobId: row.id });
  }
}

/** Cancels every queued and running job of the batch; the finished ones stay as they are (never a 409). */
export async function cancelBatch(ctx: JobsContext, id: string): Promise<BatchJson> {
  await stopBatch(ctx, await findBatchRows(ctx, id));
  return batchJson(id, await findBatchRows(ctx, id));
}

/** Like deleting each job: the queued and running ones are canceled first, then every row and file goes. */
export async function deleteBatch(ctx: JobsContext, id: string): Promise<void> {
  const rows = await findBatchRows(ctx, id);
  if (rows.some((r) => isActive(r.status as JobStatus))) await stopBatch(ctx, rows);
  await ctx.db.job.deleteMany({ where: { batchId: id } });
  for (const row of rows) {
    // A worker still finishing a job finds its row gone and removes anything it wrote after this.
    await ctx.storage.removeJobFiles(row.id);
    await publishEvent(ctx.redis, ctx.redisPrefix, { type: "deleted", jobId: row.id });
  }
}
