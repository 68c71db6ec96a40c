/**
 * Queue behaviour: the job processor driven by real BullMQ workers on the test Redis, with a SQLite job
 * history, running the real engine (createGenerationRunner, as workers/generate.ts does) on the built-in
 * tiny model: success, cancel, a real engine failure (a broken model install), retries, crash recovery of
 * a worker process killed mid-job, no double runs, persistence. Long jobs use real settings (33 frames,
 * up to 100 steps) to stay running long enough to cancel or kill.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { UnrecoverableError, Worker } from "bullmq";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Db } from "../../lib/db/client.ts";
import { createGenerationRunner } from "../../lib/engine/generation.ts";
import { resolveRuntime, type ResolvedRuntime } from "../../lib/engine/runtime.ts";
import { latentFrameCount } from "../../lib/engine/vae.ts";
import { cancelJob } from "../../lib/jobs/actions.ts";
import { continueJob } from "../../lib/jobs/continue.ts";
import { createJob } from "../../lib/jobs/create.ts";
import { jobFilePath } from "../../lib/jobs/files.ts";
import { jobJson } from "../../lib/jobs/job-json.ts";
import { createJobProcessor } from "../../lib/jobs/processor.ts";
import { reconcileQueue } from "../../lib/jobs/reconcile.ts";
import { subscribeEvents, type StudioEvent } from "../../lib/queue/events.ts";
import { classOfJob, createGenerateQueue, workerTiming } from "../../lib/queue/generate-queue.ts";
import { createGenerateWorker } from "../../lib/queue/routed-worker.ts";
import { classQueueName } from "../../lib/queue/routing.ts";
import { ensureRedis } from "../../lib/redis/bootstrap.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { JOB_FILES } from "../../lib/storage/storage.ts";
import { isPartialFile } from "../../lib/video/atomic-file.ts";
import { probeVideo } from "../../lib/video/probe.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { createTestJobsContext, tinyRequest, waitFor, waitForStatus, startWorkerProcess, type TestJobsContext } from "../helpers/jobs-context.ts";
import { BROKEN_MODEL, writeTestModel } from "../helpers/models.ts";
import { freePort } from "../helpers/ports.ts";

/** Short locks so that a dead worker's job is taken over within seconds (the same in every worker). */
const LOCK_MS = 2000;

/** A job that runs for several seconds on this machine (denoising 100 steps of 33 frames, then 9 decode chunks). */
const LONG = { frames: 33, steps: 100 } as const;

let ctx: TestJobsContext;
let runtime: ResolvedRuntime;
const events: StudioEvent[] = [];
let stopEvents: () => Promise<void>;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  ctx = await createTestJobsContext({ redisUrl: inject("redisUrl"), redisDb: 7, prefix: "jobs-processor", model: "tiny" });
  runtime = await resolveRuntime({ executionProviders: ["cpu"], threads: 0 });
  stopEvents = await subscribeEvents(ctx.redis, ctx.redisPrefix, (e) => events.push(e));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  await stopEvents?.();
  await ctx?.close();
});

type TestWorker = { id: string; runs: string[]; lines: string[]; close(): Promise<void> };

/**
 * An in-process worker: the studio's processor and BullMQ settings around the engine's runner on the
 * context's models folder, as workers/generate.ts builds it. `runs` records each run the engine starts.
 */
async function startWorker(c: TestJobsContext, opts: { concurrency?: number; db?: Db; progressWriteMs?: number } = {}): Promise<TestWorker> {
  const id = `test-worker-${Math.random().toString(36).slice(2, 8)}`;
  const runs: string[] = [];
  const lines: string[] = [];
  const redis = createRedis(c.redisUrl, id);
  const runner = createGenerationRunner({ modelsDir: c.modelsDir, runtime });
  const processor = await createJobProcessor({
    db: opts.db ?? c.db,
    redis,
    redisPrefix: c.redisPrefix,
    storage: c.storage,
    runGeneration: (job, context) => {
      runs.push(job.id);
      return runner.run(job, context);
    },
    workerId: id,
    progressWriteMs: opts.progressWriteMs,
    log: (line) => lines.push(line),
  });
  const connection = createRedis(c.redisUrl, `${id}-queue`);
  const worker = createGenerateWorker({ connection, prefix: c.redisPrefix, processor: processor.process, concurrency: opts.concurrency ?? 1, lockMs: LOCK_MS, name: id });
  worker.on("error", () => {});
  const w: TestWorker = {
    id,
    runs,
    lines,
    async close() {
      await worker.close(true);
      // A forced close does not wait for a run in progress; its sessions must not be released under it.
      await waitFor(`${id} to finish its runs`, () => (processor.running().length === 0 ? true : undefined), 60_000).catch(() => {});
      await processor.close();
      await runner.release();
      connection.disconnect();
      redis.disconnect();
    },
  };
  cleanups.push(() => w.close());
  return w;
}

type JobUpdate = { data: { status?: string } & Record<string, unknown> };

/** The database with every `job.updateMany` passed through `intercept` first (to count or to fail writes). */
function interceptJobUpdates(db: Db, intercept: (args: JobUpdate, write: () => Promise<unknown>) => Promise<unknown>): Db {
  return new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== "job") return value;
      return new Proxy(value, {
        get(t, p, r) {
          const fn = Reflect.get(t, p, r);
          if (p !== "updateMany") return fn;
          return (args: JobUpdate) => intercept(args, () => fn.call(t, args));
        },
      });
    },
  }) as Db;
}

async function row(id: string, c = ctx) {
  return await c.db.job.findUniqueOrThrow({ where: { id } });
}

const waitStatus = (id: string, status: string, timeoutMs = 30_000, c = ctx) => waitForStatus(c, id, status, timeoutMs);

function eventsOf(id: string): StudioEvent[] {
  return events.filter((e) => e.jobId === id);
}

function folder(id: string, c = ctx): string[] {
  const dir = c.storage.jobDir(id);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Progress reports of one run on a freshly started worker: model load, text, denoise 0…steps, decode 0…latent frames. */
function progressReports(p: { steps: number; frames: number }): number {
  return 1 + 1 + (p.steps + 1) + (latentFrameCount(p.frames) + 1);
}

describe("job processor on a real queue", () => {
  it("runs a job once to success: row, events, video, poster and preview", async () => {
    const worker = await startWorker(ctx);
    const job = await createJob(ctx, tinyRequest());
    const done = await waitStatus(job.id, "succeeded");
    expect(done).toMatchObject({ attempts: 1, workerId: worker.id, videoFile: "video.a1.mp4", posterFile: "poster.a1.jpg", previewFile: "preview.webp", error: null });
    expect(done.seed).not.toBeNull(); // drawn by the run and recorded
    const timings = JSON.parse(done.timings!);
    expect(timings.denoise).toBeGreaterThan(0);
    expect(Object.keys(timings).sort()).toEqual(["decode", "denoise", "ditCalls", "ditCallsSkipped", "load", "text"]);
    expect(worker.runs).toEqual([job.id]);
    expect(folder(job.id)).toEqual(["poster.a1.jpg", "preview.webp", "video.a1.mp4"]);
    expect(await probeVideo(await jobFilePath(ctx, job.id, "video"), { countFrames: true })).toMatchObject({ codec: "h264", width: 160, height: 96, frames: 9 });
    expect(jobJson(done)).toMatchObject({ progress: 1, videoUrl: `/api/jobs/${job.id}/video`, seed: Number(done.seed) });

    await waitFor("the succeeded event", () => eventsOf(job.id).find((e) => e.type === "succeeded"));
    const types = eventsOf(job.id).map((e) => e.type);
    expect(types[0]).toBe("queued");
    expect(types[1]).toBe("started");
    expect(types.at(-1)).toBe("succeeded");
    // Every progress report of the engine is published.
    expect(types.filter((t) => t === "progress")).toHaveLength(progressReports({ steps: 8, frames: 9 }));
    expect(types).toContain("preview");
    const succeeded = eventsOf(job.id).at(-1) as Extract<StudioEvent, { type: "succeeded" }>;
    expect(succeeded).toMatchObject({ videoUrl: `/api/jobs/${job.id}/video`, seed: Number(done.seed) });
  });

  it("writes progress to the database at most once a second while publishing every step", async () => {
    const writes: number[] = [];
    const counting = interceptJobUpdates(ctx.db, (args, write) => {
      if ("step" in args.data && !("status" in args.data)) writes.push(Date.now());
      return write();
    });
    await startWorker(ctx, { db: counting });
    const job = await createJob(ctx, tinyRequest(LONG));
    await waitStatus(job.id, "succeeded", 120_000);
    const progressEvents = eventsOf(job.id).filter((e) => e.type === "progress");
    expect(progressEvents).toHaveLength(progressReports(LONG));
    // The reports span several seconds: about one write per second of them, each ≥ 1 s after the previous.
    const spanS = (Date.parse(progressEvents.at(-1)!.at) - Date.parse(progressEvents[0].at)) / 1000;
    expect(spanS).toBeGreaterThan(2);
    expect(writes.length).toBeGreaterThanOrEqual(Math.max(2, Math.floor(spanS / 2)));
    expect(writes.length).toBeLessThanOrEqual(Math.floor(spanS + 0.5) + 1);
    for (let i = 1; i < writes.length; i++) expect(writes[i] - writes[i - 1]).toBeGreaterThanOrEqual(990);
  });

  it("cancel of a running job: ends canceled, not retried, no video or partial file left", async () => {
    const worker = await startWorker(ctx);
    const job = await createJob(ctx, tinyRequest(LONG));
    await waitFor("step 3", () => eventsOf(job.id).find((e) => e.type === "progress" && e.phase === "denoise" && e.step >= 3), 60_000);
    const answer = await cancelJob(ctx, job.id);
    expect(answer.status).toBe("canceled");
    const queued = await ctx.queue.getJob(job.id);
    await waitFor("BullMQ to fail the job", async () => ((await queued!.getState()) === "failed" ? true : undefined));
    // Longer than the retry backoff (1 s): a retry would have started by now.
    await sleep(1500);
    expect(worker.runs).toEqual([job.id]);
    const failedQueueJob = await ctx.queue.getJob(job.id);
    expect(failedQueueJob?.attemptsMade).toBe(1);
    expect(failedQueueJob?.failedReason).toBe("canceled");
    const r = await row(job.id);
    expect(r.status).toBe("canceled");
    expect(JSON.parse(r.timings!).denoise).toBeGreaterThan(0);
    // It stopped at the next step, long before the end of the 100.
    const lastStep = Math.max(...eventsOf(job.id).flatMap((e) => (e.type === "progress" && e.phase === "denoise" ? [e.step] : [])));
    expect(lastStep).toBeLessThan(50);
    expect(eventsOf(job.id).some((e) => e.type === "progress" && e.phase === "decode")).toBe(false);
    expect(folder(job.id).filter((f) => f !== "preview.webp")).toEqual([]);
    expect(eventsOf(job.id).filter((e) => e.type === "canceled")).toHaveLength(1);
  });

  it("cancel of a queued job removes it from the queue, and no worker runs it", async () => {
    const worker = await startWorker(ctx);
    const busy = await createJob(ctx, tinyRequest(LONG));
    const waiting = await createJob(ctx, tinyRequest());
    await waitFor("the first job to start", () => eventsOf(busy.id).find((e) => e.type === "started"));
    expect((await cancelJob(ctx, waiting.id)).status).toBe("canceled");
    expect(await ctx.queue.getJob(waiting.id)).toBeUndefined();
    await cancelJob(ctx, busy.id);
    await waitStatus(busy.id, "canceled");
    await waitFor("the busy job's run to end", () => (eventsOf(busy.id).some((e) => e.type === "canceled") ? true : undefined));
    await sleep(500);
    expect(worker.runs).toEqual([busy.id]);
    expect((await row(waiting.id)).attempts).toBe(0);
    expect(eventsOf(waiting.id).map((e) => e.type)).toEqual(["queued", "canceled"]);
  });

  it("a job canceled while still on the queue (the cancel lost the race to remove it) is skipped", async () => {
    const job = await createJob(ctx, tinyRequest());
    await ctx.db.job.update({ where: { id: job.id }, data: { status: "canceled" } });
    const worker = await startWorker(ctx);
    await waitFor("the queue entry to be consumed", async () => ((await ctx.queue.getJob(job.id)) ? undefined : true));
    expect(worker.runs).toEqual([]);
    expect(await row(job.id)).toMatchObject({ status: "canceled", attempts: 0 });
  });

  it("an engine error (a model installed without its graphs) fails the job once, without retries", async () => {
    await writeTestModel(ctx.modelsDir, BROKEN_MODEL);
    const worker = await startWorker(ctx);
    const job = await createJob(ctx, tinyRequest({ model: BROKEN_MODEL }));
    const failed = await waitStatus(job.id, "failed");
    expect(failed.error).toBe(`${path.join(ctx.modelsDir, BROKEN_MODEL)}: the model lacks a transformer, VAE, text encoder (convert it into this folder)`);
    await sleep(1500);
    expect(worker.runs).toEqual([job.id]);
    expect((await ctx.queue.getJob(job.id))?.attemptsMade).toBe(1);
    expect(folder(job.id)).toEqual([]);
    await waitFor("the failed event", () => eventsOf(job.id).find((e) => e.type === "failed" && e.error === failed.error));
    // The worker is not stuck on the broken model: the next job, on the working one, runs.
    const next = await createJob(ctx, tinyRequest());
    await waitStatus(next.id, "succeeded");
    expect(worker.runs).toEqual([job.id, next.id]);
  });

  it("a failure outside the engine (the database write of the outcome) is retried by BullMQ and the job completes", async () => {
    let injected = 0;
    const flaky = interceptJobUpdates(ctx.db, (args, write) => {
      if (args.data.status === "succeeded" && injected++ === 0) return Promise.reject(new Error("database is locked"));
      return write();
    });
    const worker = await startWorker(ctx, { db: flaky });
    const job = await createJob(ctx, tinyRequest());
    const done = await waitStatus(job.id, "succeeded");
    expect(worker.runs).toEqual([job.id, job.id]);
    expect(done.attempts).toBe(2);
    // The first attempt's files went with its failure; the second attempt's names are its own.
    expect(folder(job.id)).toEqual(["poster.a2.jpg", "preview.webp", "video.a2.mp4"]);
  });

  it("two workers never run the same job twice", async () => {
    const a = await startWorker(ctx, { concurrency: 2 });
    const b = await startWorker(ctx, { concurrency: 2 });
    const jobs = [];
    for (let i = 0; i < 8; i++) jobs.push(await createJob(ctx, tinyRequest({ prompt: `job ${i}`, frames: 5, steps: 4 })));
    for (const job of jobs) await waitStatus(job.id, "succeeded", 60_000);
    const runs = [...a.runs, ...b.runs].sort();
    expect(runs).toEqual(jobs.map((j) => j.id).sort());
    for (const job of jobs) expect((await row(job.id)).attempts).toBe(1);
    // Both took part (each had a free slot when the jobs arrived).
    expect(a.runs.length).toBeGreaterThan(0);
    expect(b.runs.length).toBeGreaterThan(0);
  });
});

describe("fencing: a run whose job was taken over commits nothing", () => {
  /** What a second worker's claim does to the row (processor.ts claimJob): the next attempt, its worker. */
  const takeOver = (id: string, attempt: number) =>
    ctx.db.job.updateMany({ where: { id, status: "running", attempts: attempt - 1 }, data: { attempts: attempt, workerId: "rescuer-w2" } });
  // The rows these tests leave "running" (for a rescuer that never comes) would be re-queued by the
  // reconciliation tests below.
  const taken: string[] = [];
  afterEach(async () => {
    await ctx.db.job.deleteMany({ where: { id: { in: taken.splice(0) } } });
  });

  it("mid-denoise: the stale run stops at its next write, logs that it was fenced, writes no outcome and leaves no file", async () => {
    const worker = await startWorker(ctx);
    const job = await createJob(ctx, tinyRequest(LONG));
    taken.push(job.id);
    await waitFor("denoise step 3", () => eventsOf(job.id).find((e) => e.type === "progress" && e.phase === "denoise" && e.step >= 3), 60_000);
    expect((await takeOver(job.id, 2)).count).toBe(1);
    const fenced = `job ${job.id}: fenced: attempt 1 was taken over by attempt 2 (worker rescuer-w2, now running); discarded its outputs`;
    await waitFor("the fenced log line", () => (worker.lines.includes(fenced) ? true : undefined), 60_000);
    // The row is the later attempt's, untouched: no outcome, no progress of the stale run after the takeover.
    const after = await row(job.id);
    expect(after).toMatchObject({ status: "running", attempts: 2, workerId: "rescuer-w2", videoFile: null, finishedAt: null });
    expect(eventsOf(job.id).map((e) => e.type)).not.toContain("canceled");
    expect(eventsOf(job.id).map((e) => e.type)).not.toContain("failed");
    expect(eventsOf(job.id).every((e) => e.type === "queued" || e.attempt === 1)).toBe(true);
    // Its checkpoint may stay: a checkpoint depends only on the job's settings and the step, so it serves attempt 2 as well.
    expect(folder(job.id).filter((f) => f !== "preview.webp" && f !== JOB_FILES.checkpoint)).toEqual([]);
    expect(worker.lines.some((l) => /job .*: (failed|canceled|succeeded)/.test(l))).toBe(false);
  });

  it("at the commit: the success write of a taken-over run is refused, its files removed, and the later attempt's files kept", async () => {
    let jobId = "";
    const racing = interceptJobUpdates(ctx.db, async (args, write) => {
      if (args.data.status === "succeeded") {
        // The later attempt claimed the job and published its own video just before this commit.
        await takeOver(jobId, 2);
        writeFileSync(ctx.storage.jobFile(jobId, "video.a2.mp4"), "the later attempt's video");
      }
      return write();
    });
    const worker = await startWorker(ctx, { db: racing });
    const job = await createJob(ctx, tinyRequest());
    jobId = job.id;
    taken.push(job.id);
    const fenced = `job ${job.id}: fenced: attempt 1 was taken over by attempt 2 (worker rescuer-w2, now running); discarded its outputs`;
    await waitFor("the fenced log line", () => (worker.lines.includes(fenced) ? true : undefined), 60_000);
    expect(await row(job.id)).toMatchObject({ status: "running", attempts: 2, workerId: "rescuer-w2", videoFile: null });
    expect(folder(job.id)).toEqual(["preview.webp", "video.a2.mp4"]);
    expect(eventsOf(job.id).map((e) => e.type)).not.toContain("succeeded");
  });
});

describe("a continuation under fencing", () => {
  it("commits its chain video under its attempt's name too, and leaves none of its scratch files", async () => {
    await startWorker(ctx);
    const first = await createJob(ctx, tinyRequest({ frames: 5, steps: 2 }));
    await waitStatus(first.id, "succeeded");
    const next = await continueJob(ctx, first.id, {});
    const done = await waitStatus(next.id, "succeeded", 60_000);
    expect(done).toMatchObject({ attempts: 1, videoFile: "video.a1.mp4", posterFile: "poster.a1.jpg", chainFile: "chain.a1.mp4" });
    expect(folder(next.id).filter((f) => f !== "preview.webp")).toEqual(["chain.a1.mp4", "poster.a1.jpg", "video.a1.mp4"]);
    expect(await probeVideo(await jobFilePath(ctx, next.id, "chain"), { countFrames: true })).toMatchObject({ codec: "h264", frames: 5 + 5 - 1 });
  });
});

describe("crash recovery", () => {
  it("a worker process killed with SIGKILL mid-job is recovered by a second worker; no partial file is ever served", async () => {
    const job = await createJob(ctx, tinyRequest({ frames: 33, steps: 20 }));
    const lines: string[] = [];
    // The studio's own worker process on this context's DATA_DIR (models inside), with the short lock.
    const crashing = startWorkerProcess(ctx, "doomed-worker", lines, { STUDIO_LOCK_MS: String(LOCK_MS) });
    cleanups.push(() => crashing.stop("SIGKILL"));
    // Killed while it decodes and the MP4 is being written: a temporary file, with ffmpeg running. fluent-ffmpeg
    // spawns ffmpeg asynchronously, so the file can appear a little after the first decoded frames; wait for both.
    await waitFor(
      "the worker to decode into a temporary MP4",
      () =>
        eventsOf(job.id).some((e) => e.type === "progress" && e.phase === "decode" && e.step >= 2) && folder(job.id).some(isPartialFile)
          ? true
          : undefined,
      90_000,
      10,
    );

    // The whole process group, as a power cut would: the worker and its ffmpeg.
    process.kill(-crashing.process.pid!, "SIGKILL");
    await crashing.exited;
    expect(eventsOf(job.id).some((e) => e.type === "succeeded")).toBe(false);
    const orphaned = await row(job.id);
    expect(orphaned).toMatchObject({ status: "running", attempts: 1 });
    expect(orphaned.workerId).toMatch(/^.+-\d+-[0-9a-f]{8}$/);
    // What the dead run left is only a temporary file, and the API serves no video for the job.
    expect(folder(job.id).some(isPartialFile)).toBe(true);
    expect(folder(job.id)).not.toContain("video.a1.mp4");
    await expect(jobFilePath(ctx, job.id, "video")).rejects.toThrow(/not found/);

    const rescuer = await startWorker(ctx);
    const done = await waitStatus(job.id, "succeeded", 90_000);
    expect(done).toMatchObject({ attempts: 2, workerId: rescuer.id });
    expect(rescuer.runs).toEqual([job.id]);
    expect(folder(job.id)).toEqual(["poster.a2.jpg", "preview.webp", "video.a2.mp4"]);
    expect(await probeVideo(path.join(ctx.storage.jobDir(job.id), "video.a2.mp4"), { countFrames: true })).toMatchObject({ codec: "h264", frames: 33 });
    expect(lines.join("\n")).toMatch(/worker .* ready \(lock 2000 ms/);
  });

  it("jobs Redis lost are put back on the queue by reconcileQueue and then run", async () => {
    const a = await createJob(ctx, tinyRequest({ prompt: "lost a" }));
    const b = await createJob(ctx, tinyRequest({ prompt: "lost b" }));
    const c = await createJob(ctx, tinyRequest({ prompt: "lost while running" }));
    await ctx.db.job.update({ where: { id: c.id }, data: { status: "running", attempts: 1 } });
    await ctx.redis.flushdb();
    expect(await ctx.queue.getJob(a.id)).toBeUndefined();

    const result = await reconcileQueue(ctx.db, ctx.queue, { modelsDir: ctx.modelsDir });
    expect(result.requeued.sort()).toEqual([a.id, b.id, c.id].sort());
    expect((await row(c.id)).status).toBe("queued");
    // Idempotent: the next pass finds everything in place.
    expect(await reconcileQueue(ctx.db, ctx.queue, { modelsDir: ctx.modelsDir })).toEqual({ requeued: [], failed: [] });

    const worker = await startWorker(ctx);
    for (const job of [a, b, c]) await waitStatus(job.id, "succeeded");
    expect(worker.runs.sort()).toEqual([a.id, b.id, c.id].sort());
  });

  it("a job the queue gave up on is marked failed by reconcileQueue", async () => {
    const job = await createJob(ctx, tinyRequest());
    // BullMQ failing the job by itself, as it does when a job stalls more often than allowed.
    const connection = createRedis(ctx.redisUrl, "giving-up");
    const jobClass = classOfJob((await ctx.queue.getJob(job.id))!)!;
    const bare = new Worker(classQueueName(jobClass), async () => {
      throw new UnrecoverableError("job stalled more than allowable limit");
    }, { connection, prefix: ctx.redisPrefix, ...workerTiming(LOCK_MS) });
    cleanups.push(async () => {
      await bare.close();
      connection.disconnect();
    });
    const queued = await ctx.queue.getJob(job.id);
    await waitFor("BullMQ to fail it", async () => ((await queued!.getState()) === "failed" ? true : undefined));
    expect((await row(job.id)).status).toBe("queued");

    const result = await reconcileQueue(ctx.db, ctx.queue, { modelsDir: ctx.modelsDir, events: { redis: ctx.redis, prefix: ctx.redisPrefix } });
    expect(result.failed).toEqual([job.id]);
    expect(await row(job.id)).toMatchObject({ status: "failed", error: "the queue gave up on this job: job stalled more than allowable limit" });
    await waitFor("the failed event", () => eventsOf(job.id).find((e) => e.type === "failed"));
  });

  it("queued jobs survive a restart of a private Redis with AOF", async () => {
    const redisDir = tempDir("studio-aof");
    const url = `redis://127.0.0.1:${await freePort()}`;
    let server = await ensureRedis({ url, dataDir: redisDir });
    expect(server.private).toBe(true);
    const c = await createTestJobsContext({ redisUrl: url, redisDb: 0, prefix: "jobs-aof", model: "tiny" });
    cleanups.push(async () => {
      await c.close();
      await server.stop();
      rmSync(redisDir, { recursive: true, force: true });
    });
    const jobs = [];
    for (let i = 0; i < 3; i++) jobs.push(await createJob(c, tinyRequest({ prompt: `survivor ${i}` })));
    await c.queue.close();
    c.redis.disconnect();

    await server.stop();
    server = await ensureRedis({ url, dataDir: redisDir });
    const redis = createRedis(c.redisUrl, "after-restart");
    const queue = createGenerateQueue(redis, c.redisPrefix);
    const c2: TestJobsContext = { ...c, redis, queue };
    cleanups.push(async () => {
      await queue.close();
      redis.disconnect();
    });
    for (const job of jobs) expect(await (await queue.getJob(job.id))?.getState()).toBe("prioritized");

    const worker = await startWorker(c2);
    for (const job of jobs) await waitStatus(job.id, "succeeded", 30_000, c2);
    expect(worker.runs.sort()).toEqual(jobs.map((j) => j.id).sort());
  });
});
