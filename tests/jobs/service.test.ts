/**
 * The jobs service on a real SQLite file and the test Redis: creating (validation against the shared
 * schema and the model), listing with cursor pagination, filters and prompt search, cancel, retry and
 * delete. No worker runs here, so queued jobs stay queued.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ZodError } from "zod";
import { StudioError } from "../../lib/errors.ts";
import { DEFAULT_NEGATIVE_PROMPT, I2V_NEGATIVE_PREFIX, negativePromptFor } from "../../lib/engine/text/negative-prompt.ts";
import { cancelJob, deleteJob, getJob, retryJob } from "../../lib/jobs/actions.ts";
import { createJob } from "../../lib/jobs/create.ts";
import { listJobs } from "../../lib/jobs/list.ts";
import { jobSchema } from "../../lib/jobs/schemas.ts";
import { subscribeEvents, type StudioEvent } from "../../lib/queue/events.ts";
import { GENERATE_JOB_OPTIONS } from "../../lib/queue/generate-queue.ts";
import { newId } from "../../lib/storage/ids.ts";
import { writeTestModel } from "../helpers/models.ts";
import { createTestJobsContext, tinyRequest, waitFor, type TestJobsContext } from "../helpers/jobs-context.ts";

let ctx: TestJobsContext;
const events: StudioEvent[] = [];
let stopEvents: () => Promise<void>;

beforeAll(async () => {
  ctx = await createTestJobsContext({ redisUrl: inject("redisUrl"), redisDb: 5, prefix: "jobs-service" });
  stopEvents = await subscribeEvents(ctx.redis, ctx.redisPrefix, (e) => events.push(e));
});
afterAll(async () => {
  await stopEvents?.();
  await ctx?.close();
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

async function fieldOf(p: Promise<unknown>): Promise<{ kind: string; field?: string; status?: number; message: string }> {
  const e = await rejection(p);
  if (e instanceof ZodError) return { kind: "zod", field: e.issues[0].path.join("."), message: e.issues[0].message };
  if (e instanceof StudioError) return { kind: "studio", field: e.field, status: e.status, message: e.message };
  throw e;
}

describe("createJob", () => {
  it("stores a queued job with the model's default negative prompt and puts it on the queue", async () => {
    const job = await createJob(ctx, tinyRequest());
    expect(jobSchema.parse(job)).toEqual(job);
    expect(job).toMatchObject({
      kind: "t2v",
      status: "queued",
      model: "wan-tiny",
      prompt: "a red fox running through snow",
      negativePrompt: DEFAULT_NEGATIVE_PROMPT,
      seed: null,
      progress: 0,
      videoUrl: null,
      attempts: 0,
    });
    // The requested settings, with defaults applied; no seed because none was asked for.
    expect(job.params).toEqual({ prompt: "a red fox running through snow", width: 160, height: 96, frames: 9, steps: 8, guidance: 5, shift: 5, solver: "unipc", grid: "official", speed: "exact" });
    const queued = await ctx.queue.getJob(job.id);
    expect(queued?.data).toEqual({ jobId: job.id });
    expect(queued?.opts.attempts).toBe(GENERATE_JOB_OPTIONS.attempts);
    // Every studio job waits in BullMQ's prioritized set (its band: normal).
    expect([await queued?.getState(), queued?.priority]).toEqual(["prioritized", 2]);
    await waitFor("the queued event", () => events.find((e) => e.type === "queued" && e.jobId === job.id));
  });

  it("keeps a fixed seed and the user's negative prompt; turns seconds into a valid frame count", async () => {
    const job = await createJob(ctx, tinyRequest({ seed: 42, negativePrompt: "blurry", frames: undefined, seconds: 1 }));
    expect(job.seed).toBe(42);
    expect(job.params.seed).toBe(42);
    expect(job.negativePrompt).toBe("blurry");
    // 1 s at the tiny model's 16 fps → 16 frames → the nearest 4k+1 is 17.
    expect(job.params.frames).toBe(17);
  });

  it("refuses what the schema refuses, naming the field", async () => {
    expect(await fieldOf(createJob(ctx, tinyRequest({ width: 170 })))).toMatchObject({ kind: "zod", field: "width" });
    expect(await fieldOf(createJob(ctx, tinyRequest({ frames: 10 })))).toMatchObject({ kind: "zod", field: "frames" });
    expect(await fieldOf(createJob(ctx, tinyRequest({ frames: undefined })))).toMatchObject({ kind: "zod", field: "frames" });
    expect(await fieldOf(createJob(ctx, tinyRequest({ kind: "i2v" })))).toMatchObject({ kind: "zod", field: "imageUploadId" });
    expect(await fieldOf(createJob(ctx, tinyRequest({ strength: 0.5 })))).toMatchObject({ kind: "zod", field: "strength" });
  });

  it("gives video-to-video on an image-to-video model the negative prompt the engine (and so the CLI) would use", async () => {
    await writeTestModel(ctx.modelsDir, "wan-tiny-i2v", { variant: "i2v" });
    const upload = await ctx.db.upload.create({
      data: { id: newId(), kind: "video", mime: "video/mp4", originalName: "clip.mp4", bytes: 1, width: 160, height: 96, frames: 9, fps: 16, file: "clip.mp4" },
    });
    const job = await createJob(ctx, tinyRequest({ kind: "v2v", model: "wan-tiny-i2v", videoUploadId: upload.id }));
    // The CLI leaves the choice to the pipeline, which calls the same rule with the model's own variant.
    expect(job.negativePrompt).toBe(negativePromptFor(undefined, "i2v", "v2v"));
    expect(job.negativePrompt).toBe(I2V_NEGATIVE_PREFIX + DEFAULT_NEGATIVE_PROMPT);
    expect((await createJob(ctx, tinyRequest({ model: "wan-tiny-i2v" }))).negativePrompt).toBe(DEFAULT_NEGATIVE_PROMPT);
  });

  it("answers 422 for what the model does not offer, and for missing or mismatched uploads", async () => {
    expect(await fieldOf(createJob(ctx, tinyRequest({ width: 832, height: 480 })))).toMatchObject({ status: 422, field: "width" });
    expect(await fieldOf(createJob(ctx, tinyRequest({ frames: 37 })))).toMatchObject({ status: 422, field: "frames" });
    expect(await fieldOf(createJob(ctx, tinyRequest({ model: "wan-huge" })))).toMatchObject({ status: 422, field: "model" });
    expect(await fieldOf(createJob(ctx, tinyRequest({ kind: "i2v", imageUploadId: "0000000000-missing" })))).toMatchObject({
      status: 422,
      field: "imageUploadId",
    });
  });
});

describe("listJobs", () => {
  let ids: string[];
  beforeAll(async () => {
    await ctx.db.job.deleteMany({});
    ids = [];
    const prompts = ["A Cat on a roof", "a dog in the park", "cat and dog", "sunset, 50% clouds", "50 balloons", "sea waves"];
    for (const prompt of prompts) {
      ids.push((await createJob(ctx, tinyRequest({ prompt }))).id);
      // Distinct creation times make the expected order unambiguous.
      await new Promise((r) => setTimeout(r, 5));
    }
  });

  it("pages newest first with a cursor, without repeats or gaps", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listJobs(ctx, { limit: "4", ...(cursor ? { cursor } : {}) });
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    expect(seen).toEqual([...ids].reverse());
  });

  it("filters by status and kind, and searches prompts case-insensitively with % and _ taken literally", async () => {
    await cancelJob(ctx, ids[1]);
    expect((await listJobs(ctx, { status: "canceled" })).jobs.map((j) => j.id)).toEqual([ids[1]]);
    expect((await listJobs(ctx, { status: "queued,canceled" })).jobs).toHaveLength(6);
    expect((await listJobs(ctx, { kind: "i2v" })).jobs).toHaveLength(0);
    expect((await listJobs(ctx, { q: "CAT" })).jobs.map((j) => j.prompt)).toEqual(["cat and dog", "A Cat on a roof"]);
    // As a LIKE pattern "50%" would match "50 balloons" too.
    expect((await listJobs(ctx, { q: "50%" })).jobs.map((j) => j.prompt)).toEqual(["sunset, 50% clouds"]);
    expect((await listJobs(ctx, { q: "s_a" })).jobs).toHaveLength(0);
    // Search and pagination together: one match per page.
    const first = await listJobs(ctx, { q: "dog", limit: "1" });
    expect(first.jobs.map((j) => j.prompt)).toEqual(["cat and dog"]);
    const second = await listJobs(ctx, { q: "dog", limit: "1", cursor: first.nextCursor! });
    expect(second.jobs.map((j) => j.prompt)).toEqual(["a dog in the park"]);
    expect(second.nextCursor).toBeNull();
  });

  it("filters continuations apart from the clips made from an image (both are stored as i2v)", async () => {
    // The row as lib/jobs/continue.ts stores part 2 of ids[0]'s chain (a continuation needs a finished video to start from).
    const part2 = (await createJob(ctx, tinyRequest({ prompt: "the fox runs on" }))).id;
    await ctx.db.job.update({ where: { id: part2 }, data: { kind: "i2v", continuesJobId: ids[0], chainRootId: ids[0], chainPart: 2 } });
    try {
      expect((await listJobs(ctx, { kind: "i2v" })).jobs.map((j) => j.id)).toEqual([part2]);
      expect((await listJobs(ctx, { kind: "i2v", continued: "false" })).jobs).toHaveLength(0);
      expect((await listJobs(ctx, { continued: "true" })).jobs.map((j) => j.id)).toEqual([part2]);
      // The first part is no continuation.
      expect((await listJobs(ctx, { kind: "t2v", continued: "false" })).jobs.map((j) => j.id)).toEqual([...ids].reverse());
      expect(await fieldOf(listJobs(ctx, { continued: "yes" }))).toMatchObject({ field: "continued" });
    } finally {
      await deleteJob(ctx, part2);
    }
  });

  it("refuses bad query values, naming them", async () => {
    expect(await fieldOf(listJobs(ctx, { limit: "0" }))).toMatchObject({ field: "limit" });
    expect(await fieldOf(listJobs(ctx, { status: "done" }))).toMatchObject({ field: "status.0" });
    expect(await fieldOf(listJobs(ctx, { cursor: "not-a-cursor" }))).toMatchObject({ status: 400, field: "cursor" });
  });
});

describe("cancel, retry, delete", () => {
  it("cancels a queued job: off the queue, marked canceled once; a finished job cannot be canceled", async () => {
    const job = await createJob(ctx, tinyRequest());
    const canceled = await cancelJob(ctx, job.id);
    expect(canceled.status).toBe("canceled");
    expect(canceled.finishedAt).not.toBeNull();
    expect(await ctx.queue.getJob(job.id)).toBeUndefined();
    await waitFor("the canceled event", () => events.find((e) => e.type === "canceled" && e.jobId === job.id));
    // Again: nothing changes, no second event.
    expect((await cancelJob(ctx, job.id)).status).toBe("canceled");
    await new Promise((r) => setTimeout(r, 100));
    expect(events.filter((e) => e.type === "canceled" && e.jobId === job.id)).toHaveLength(1);

    await ctx.db.job.update({ where: { id: job.id }, data: { status: "succeeded" } });
    expect(await fieldOf(cancelJob(ctx, job.id))).toMatchObject({ status: 409 });
  });

  it("retries with the same settings: a fixed seed stays fixed, a random one stays random", async () => {
    const fixed = await createJob(ctx, tinyRequest({ seed: 7, prompt: "fixed seed" }));
    expect(await fieldOf(retryJob(ctx, fixed.id))).toMatchObject({ status: 409 });
    await cancelJob(ctx, fixed.id);
    const again = await retryJob(ctx, fixed.id);
    expect(again.id).not.toBe(fixed.id);
    expect(again).toMatchObject({ status: "queued", retryOfId: fixed.id, seed: 7, prompt: "fixed seed" });
    expect(again.params).toEqual(fixed.params);

    const random = await createJob(ctx, tinyRequest({ prompt: "random seed" }));
    await cancelJob(ctx, random.id);
    // The worker recorded the seed it drew; the retry must not inherit it.
    await ctx.db.job.update({ where: { id: random.id }, data: { seed: 99n } });
    const redo = await retryJob(ctx, random.id);
    expect(redo.seed).toBeNull();
    expect(redo.params.seed).toBeUndefined();
  });

  it("deletes a job: row, queue entry and files gone, a deleted event sent", async () => {
    const job = await createJob(ctx, tinyRequest());
    const dir = ctx.storage.jobDir(job.id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "preview.webp"), "x");
    await deleteJob(ctx, job.id);
    expect(existsSync(dir)).toBe(false);
    expect(await ctx.db.job.findUnique({ where: { id: job.id } })).toBeNull();
    expect(await ctx.queue.getJob(job.id)).toBeUndefined();
    await waitFor("the deleted event", () => events.find((e) => e.type === "deleted" && e.jobId === job.id));
    expect(await fieldOf(getJob(ctx, job.id))).toMatchObject({ status: 404 });
    expect(await fieldOf(deleteJob(ctx, job.id))).toMatchObject({ status: 404 });
  });

  it("treats a malformed id as unknown (never as a path)", async () => {
    for (const id of ["../../etc", "ABCDEFGHIJ", "short"]) {
      expect(await fieldOf(getJob(ctx, id))).toMatchObject({ status: 404 });
    }
  });
});
