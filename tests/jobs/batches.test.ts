/**
 * Batches in the jobs service on a real SQLite file and the test Redis: seeds s, s+1, … (one random s
 * for the whole batch when none is given), one job per prompt with the same seeds, validation naming
 * the field, all-or-nothing when the queue refuses, cancel and delete of the group. No worker runs here,
 * so queued jobs stay queued (tests/api/batches-api.test.ts runs a batch through real workers).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { errorResponse } from "../../lib/http/errors.ts";
import { cancelBatch, createBatch, deleteBatch, getBatch } from "../../lib/jobs/batches.ts";
import { createJob } from "../../lib/jobs/create.ts";
import { BATCH_LIMITS } from "../../lib/schemas/batch.ts";
import { listJobs } from "../../lib/jobs/list.ts";
import { batchSchema } from "../../lib/jobs/schemas.ts";
import { createGenerateQueue } from "../../lib/queue/generate-queue.ts";
import { waitingOrder } from "../../lib/queue/queue-order.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { createTestJobsContext, tinyRequest, type TestJobsContext } from "../helpers/jobs-context.ts";

let ctx: TestJobsContext;

beforeAll(async () => {
  ctx = await createTestJobsContext({ redisUrl: inject("redisUrl"), redisDb: 6, prefix: "jobs-batches" });
});
afterAll(async () => {
  await ctx?.close();
});

/** The API's answer for the error a call throws (lib/http/errors.ts): status, field and message. */
async function fieldOf(p: Promise<unknown>): Promise<{ field?: string; status: number; message: string }> {
  try {
    await p;
  } catch (e) {
    const res = errorResponse(e, () => {});
    const body = (await res.json()) as { error: { field?: string; message: string } };
    return { status: res.status, field: body.error.field, message: body.error.message };
  }
  throw new Error("expected a rejection");
}

describe("createBatch", () => {
  it("makes count jobs of one prompt with seeds s, s+1, …, queued in batch order", async () => {
    const batch = await createBatch(ctx, tinyRequest({ seed: 100, count: 3 }));
    expect(batchSchema.parse(batch)).toEqual(batch);
    expect(batch.size).toBe(3);
    expect(batch.counts).toEqual({ queued: 3, running: 0, succeeded: 0, failed: 0, canceled: 0 });
    expect(batch.jobs.map((j) => [j.batchId, j.batchIndex, j.seed, j.params.seed, j.prompt])).toEqual([
      [batch.id, 0, 100, 100, "a red fox running through snow"],
      [batch.id, 1, 101, 101, "a red fox running through snow"],
      [batch.id, 2, 102, 102, "a red fox running through snow"],
    ]);
    // All on the queue, in batch order within their band.
    const waiting = await waitingOrder(ctx.queue, []);
    expect(waiting.map((j) => j.id).filter((id) => batch.jobs.some((b) => b.id === id))).toEqual(batch.jobs.map((j) => j.id));
    expect(await getBatch(ctx, batch.id)).toEqual(batch);
  });

  it("draws one random seed for the whole batch when none is given: the seeds are consecutive", async () => {
    const a = await createBatch(ctx, tinyRequest({ count: 4 }));
    const seeds = a.jobs.map((j) => j.seed!);
    expect(seeds).toEqual([seeds[0], seeds[0] + 1, seeds[0] + 2, seeds[0] + 3]);
    const b = await createBatch(ctx, tinyRequest({ count: 4 }));
    // Two 32-bit draws are equal once in 4 billion.
    expect(b.jobs[0].seed).not.toBe(seeds[0]);
  });

  it("makes one job per prompt, every prompt with the same seeds", async () => {
    const body = { ...tinyRequest({ seed: 7, count: 2 }), prompt: undefined, prompts: ["  a cat  ", "a dog"] };
    const batch = await createBatch(ctx, body);
    expect(batch.jobs.map((j) => [j.batchIndex, j.prompt, j.seed])).toEqual([
      [0, "a cat", 7],
      [1, "a cat", 8],
      [2, "a dog", 7],
      [3, "a dog", 8],
    ]);
    // The history says which group a job belongs to, and lists one group on its own.
    const listed = await listJobs(ctx, { batch: batch.id });
    expect(listed.jobs.map((j) => j.id).sort()).toEqual(batch.jobs.map((j) => j.id).sort());
  });

  it("refuses bad batches naming the field, and creates nothing then", async () => {
    const before = await ctx.db.job.count();
    const noPrompt = { ...tinyRequest({ count: 2 }), prompt: undefined };
    expect(await fieldOf(createBatch(ctx, tinyRequest({ count: 0 })))).toMatchObject({ status: 400, field: "count" });
    expect(await fieldOf(createBatch(ctx, tinyRequest({ count: 2.5 })))).toMatchObject({ status: 400, field: "count" });
    expect(await fieldOf(createBatch(ctx, tinyRequest({ count: BATCH_LIMITS.maxJobs + 1 })))).toMatchObject({ status: 400, field: "count" });
    expect(await fieldOf(createBatch(ctx, { ...noPrompt, prompts: ["a", "b", "c"], count: 6 }))).toMatchObject({
      status: 400,
      field: "count",
      message: `a batch makes at most ${BATCH_LIMITS.maxJobs} videos; 3 prompts × count 6 is 18`,
    });
    expect(await fieldOf(createBatch(ctx, { ...noPrompt, prompts: ["a", "b", "c", "   "] }))).toMatchObject({
      status: 400,
      field: "prompts.3",
      message: "each prompt must not be empty",
    });
    expect(await fieldOf(createBatch(ctx, { ...noPrompt, prompts: [] }))).toMatchObject({ status: 400, field: "prompts" });
    expect(await fieldOf(createBatch(ctx, { ...noPrompt, prompts: "a\nb" }))).toMatchObject({ status: 400, field: "prompts" });
    expect(await fieldOf(createBatch(ctx, tinyRequest({ prompts: ["a", "b"] })))).toMatchObject({ status: 400, field: "prompts" });
    expect(await fieldOf(createBatch(ctx, noPrompt))).toMatchObject({ status: 400, field: "prompt" });
    expect(await fieldOf(createBatch(ctx, tinyRequest({ count: 3, seed: Number.MAX_SAFE_INTEGER - 1 })))).toMatchObject({ status: 400, field: "seed" });
    expect(await fieldOf(createBatch(ctx, tinyRequest({ count: 2, colour: "red" })))).toMatchObject({ status: 400, field: "colour" });
    // The model's own limits still apply, as for one job (422).
    expect(await fieldOf(createBatch(ctx, tinyRequest({ count: 2, width: 832, height: 480 })))).toMatchObject({ status: 422, field: "width" });
    expect(await ctx.db.job.count()).toBe(before);
  });

  it("is all or nothing: when the queue refuses, no job of the batch stays in the database or the queue", async () => {
    const queued = async () => (await waitingOrder(ctx.queue, [])).length;
    const before = { rows: await ctx.db.job.count(), queued: await queued() };
    // A real Redis client whose connection is closed: every command fails, as when Redis goes away.
    const closed = createRedis(ctx.redisUrl, "closed");
    await closed.ping();
    const deadQueue = createGenerateQueue(closed, ctx.redisPrefix);
    closed.disconnect();
    const failing = { ...ctx, queue: deadQueue };
    expect(await fieldOf(createBatch(failing, tinyRequest({ count: 5 })))).toMatchObject({ status: 503 });
    expect(await ctx.db.job.count()).toBe(before.rows);
    expect(await queued()).toBe(before.queued);
    await deadQueue.close().catch(() => {});
  });
});

describe("cancelBatch and deleteBatch", () => {
  it("cancels the queued and running jobs of the group, leaving finished ones and other jobs alone", async () => {
    const other = await createJob(ctx, tinyRequest());
    const batch = await createBatch(ctx, tinyRequest({ count: 4 }));
    const [done, running] = batch.jobs;
    await ctx.db.job.update({ where: { id: done.id }, data: { status: "succeeded", finishedAt: new Date() } });
    await ctx.queue.remove(done.id);
    await ctx.db.job.update({ where: { id: running.id }, data: { status: "running", startedAt: new Date() } });
    const after = await cancelBatch(ctx, batch.id);
    expect(after.counts).toEqual({ queued: 0, running: 0, succeeded: 1, failed: 0, canceled: 3 });
    expect(after.active).toBe(false);
    // The queued ones are off the queue (a running one's entry is its worker's to finish).
    for (const job of batch.jobs.slice(2)) expect(await ctx.queue.getJob(job.id)).toBeUndefined();
    expect((await ctx.db.job.findUnique({ where: { id: other.id } }))?.status).toBe("queued");
    // Again: nothing left to cancel, same answer.
    expect((await cancelBatch(ctx, batch.id)).counts).toEqual(after.counts);
  });

  it("deletes every job of the group (canceling the queued ones first); then the batch is gone", async () => {
    const batch = await createBatch(ctx, tinyRequest({ count: 3 }));
    await deleteBatch(ctx, batch.id);
    expect(await ctx.db.job.count({ where: { batchId: batch.id } })).toBe(0);
    for (const job of batch.jobs) expect(await ctx.queue.getJob(job.id)).toBeUndefined();
    expect(await fieldOf(getBatch(ctx, batch.id))).toMatchObject({ status: 404, field: "id" });
    expect(await fieldOf(deleteBatch(ctx, batch.id))).toMatchObject({ status: 404 });
    expect(await fieldOf(cancelBatch(ctx, "../../etc"))).toMatchObject({ status: 404, field: "id" });
  });
});
