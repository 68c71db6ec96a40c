/**
 * Resuming a crashed job from its last denoising checkpoint, with real parts: the test Redis, a SQLite file,
 * the studio's own worker processes (workers/generate.ts) on the tiny model, and SIGKILL.
 *
 * The "done when" of the feature: a worker is killed mid-denoise after it stored a checkpoint; a second worker
 * continues the job from that step, and the video equals, byte for byte, the one an uninterrupted run of the
 * same job (same settings, same seed) makes. The MP4 carries the generation settings as tags (prompt, seed,
 * steps, …, model, engine version) and nothing about the run (no job id, timings, worker or resume step), and
 * ffmpeg writes no creation time, so the whole file must be equal; the decoded frames are compared as well.
 *
 * Also here: the processor's `checkpointNow` (the drain hook), and a damaged or foreign checkpoint ignored.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { decodeCheckpoint, encodeCheckpoint } from "../../lib/engine/checkpoint.ts";
import { createGenerationRunner } from "../../lib/engine/generation.ts";
import { resolveRuntime, type ResolvedRuntime } from "../../lib/engine/runtime.ts";
import { cancelJob } from "../../lib/jobs/actions.ts";
import { JobCheckpoints } from "../../lib/jobs/checkpoints.ts";
import { createJob } from "../../lib/jobs/create.ts";
import { createJobProcessor, type JobProcessor } from "../../lib/jobs/processor.ts";
import { subscribeEvents, type StudioEvent } from "../../lib/queue/events.ts";
import { createGenerateWorker } from "../../lib/queue/routed-worker.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { JOB_FILES } from "../../lib/storage/storage.ts";
import type { Child } from "../../lib/supervisor.ts";
import { decodeVideoFrames } from "../../lib/video/decode.ts";
import { createTestJobsContext, tinyRequest, waitFor, waitForStatus, startWorkerProcess, type TestJobsContext } from "../helpers/jobs-context.ts";

/** Short locks so that the killed worker's job is taken over within seconds (the same in every worker). */
const LOCK_MS = 2000;
/** Enough steps that the kill lands well inside the denoising loop, with a checkpoint every few of them. */
const STEPS = 60;
const EVERY = 3;

let ctx: TestJobsContext;
let runtime: ResolvedRuntime;
const events: StudioEvent[] = [];
let stopEvents: () => Promise<void>;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  ctx = await createTestJobsContext({ redisUrl: inject("redisUrl"), redisDb: 10, prefix: "crash-resume", model: "tiny" });
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

const row = (id: string) => ctx.db.job.findUniqueOrThrow({ where: { id } });
const checkpointFile = (id: string) => ctx.storage.jobFile(id, JOB_FILES.checkpoint);

/** The studio's worker process on this context's DATA_DIR, with the short lock and frequent checkpoints. */
function startCheckpointingWorker(name: string, lines: string[]): Child {
  const child = startWorkerProcess(ctx, name, lines, { STUDIO_LOCK_MS: String(LOCK_MS), CHECKPOINT_EVERY_STEPS: String(EVERY) });
  cleanups.push(() => child.stop("SIGKILL"));
  return child;
}

/** An in-process worker (the studio's processor and BullMQ settings around the engine), for the processor's hooks. */
async function startInProcessWorker(opts: { checkpointEverySteps: number; lines: string[] }): Promise<JobProcessor> {
  const id = `test-worker-${Math.random().toString(36).slice(2, 8)}`;
  const redis = createRedis(ctx.redisUrl, id);
  const runner = createGenerationRunner({ modelsDir: ctx.modelsDir, runtime });
  const processor = await createJobProcessor({
    db: ctx.db,
    redis,
    redisPrefix: ctx.redisPrefix,
    storage: ctx.storage,
    runGeneration: runner.run,
    workerId: id,
    checkpointEverySteps: opts.checkpointEverySteps,
    log: (line) => opts.lines.push(line),
  });
  const connection = createRedis(ctx.redisUrl, `${id}-queue`);
  const worker = createGenerateWorker({ connection, prefix: ctx.redisPrefix, processor: processor.process, concurrency: 1, lockMs: LOCK_MS, name: id });
  worker.on("error", () => {});
  cleanups.push(async () => {
    await worker.close(true);
    await waitFor(`${id} to finish its runs`, () => (processor.running().length === 0 ? true : undefined), 60_000).catch(() => {});
    await processor.close();
    await runner.release();
    connection.disconnect();
    redis.disconnect();
  });
  return processor;
}

async function frames(file: string, n: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const f of decodeVideoFrames(file, { width: 160, height: 96, maxFrames: n })) out.push(Buffer.from(f));
  return out;
}

function lastDenoiseStep(id: string): number {
  const p = events.filter((e): e is Extract<StudioEvent, { type: "progress" }> => e.jobId === id && e.type === "progress" && e.phase === "denoise");
  return p.at(-1)?.step ?? 0;
}

describe("crash resume", () => {
  it("a worker killed with SIGKILL mid-denoise: the next worker resumes from the checkpoint, and the video is byte-identical to an uninterrupted run", async () => {
    // No seed: the one the first attempt draws must be the one the resumed attempt uses.
    const request = tinyRequest({ frames: 17, steps: STEPS });
    const crashed = await createJob(ctx, request);
    const doomedLines: string[] = [];
    const doomed = startCheckpointingWorker("doomed-worker", doomedLines);

    // Killed as soon as its first checkpoint is on disk: tens of steps remain.
    await waitFor("the first checkpoint", () => (existsSync(checkpointFile(crashed.id)) ? true : undefined), 120_000, 5);
    process.kill(-doomed.process.pid!, "SIGKILL");
    await doomed.exited;
    const stored = decodeCheckpoint(readFileSync(checkpointFile(crashed.id)));
    expect(stored.step).toBeGreaterThanOrEqual(EVERY);
    expect(stored.step % EVERY).toBe(0);
    expect(stored.step).toBeLessThan(STEPS);
    // It died mid-denoise: nothing past the denoising loop was reported.
    expect(events.some((e) => e.jobId === crashed.id && e.type === "progress" && e.phase === "decode")).toBe(false);
    expect(lastDenoiseStep(crashed.id)).toBeLessThan(STEPS);
    const orphaned = await row(crashed.id);
    expect(orphaned).toMatchObject({ status: "running", attempts: 1, resumedFromStep: null });
    expect(orphaned.seed).not.toBeNull();

    const rescuerLines: string[] = [];
    startCheckpointingWorker("rescuer", rescuerLines);
    const done = await waitForStatus(ctx, crashed.id, "succeeded", 180_000);
    expect(done).toMatchObject({ attempts: 2, resumedFromStep: stored.step, seed: orphaned.seed });
    expect(rescuerLines).toContain(`job ${crashed.id}: resuming from step ${stored.step}/${STEPS}`);
    expect(existsSync(checkpointFile(crashed.id))).toBe(false); // removed when the job ended

    // The reference: the same job, never interrupted, on the same worker (its seed fixed to the one drawn).
    const reference = await createJob(ctx, { ...request, seed: Number(orphaned.seed) });
    const ref = await waitForStatus(ctx, reference.id, "succeeded", 180_000);
    expect(ref).toMatchObject({ attempts: 1, resumedFromStep: null });
    expect(rescuerLines.some((l) => l.includes(`job ${reference.id}: resuming`))).toBe(false);

    // Each attempt names its own files (lib/jobs/fence.ts): the resumed one is attempt 2's, the reference attempt 1's.
    const resumedFile = ctx.storage.jobFile(crashed.id, done.videoFile!);
    const referenceFile = ctx.storage.jobFile(reference.id, ref.videoFile!);
    expect([path.basename(resumedFile), path.basename(referenceFile)]).toEqual(["video.a2.mp4", "video.a1.mp4"]);
    const resumedVideo = readFileSync(resumedFile);
    const referenceVideo = readFileSync(referenceFile);
    const [a, b] = [await frames(resumedFile, 17), await frames(referenceFile, 17)];
    expect(a).toHaveLength(17);
    a.forEach((f, k) => expect(f.equals(b[k]), `frame ${k}`).toBe(true));
    expect(resumedVideo.equals(referenceVideo)).toBe(true);
  });

  it("a damaged or foreign checkpoint is logged and ignored: the job starts over and succeeds", async () => {
    const lines: string[] = [];
    const damaged = await createJob(ctx, tinyRequest({ seed: 5 }));
    const foreign = await createJob(ctx, tinyRequest({ seed: 6 }));
    const valid = encodeCheckpoint({
      fingerprint: "0".repeat(64), // written for other settings
      step: 2,
      total: 8,
      latent: new Float32Array(16 * 3 * 12 * 20),
      scheduler: { values: { next: 2, size: 16 * 3 * 12 * 20, qPrev: 2 }, arrays: {} },
      stepCache: null,
    });
    // As a crashed first attempt leaves them: the rows running, a checkpoint in each folder.
    for (const [job, bytes] of [[damaged, Buffer.from(valid).subarray(0, 100)], [foreign, valid]] as const) {
      await ctx.storage.ensureJobDir(job.id);
      writeFileSync(checkpointFile(job.id), bytes);
      await ctx.db.job.update({ where: { id: job.id }, data: { status: "running", attempts: 1 } });
    }
    await startInProcessWorker({ checkpointEverySteps: EVERY, lines });
    for (const job of [damaged, foreign]) {
      expect(await waitForStatus(ctx, job.id, "succeeded")).toMatchObject({ attempts: 2, resumedFromStep: null });
      expect(existsSync(checkpointFile(job.id))).toBe(false);
    }
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`job ${damaged.id}: ignoring the stored checkpoint, starting over: .*(damaged|incomplete)`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`job ${foreign.id}: ignoring the stored checkpoint, starting over: .*other settings`)));
  });
});

describe("checkpointNow (the drain hook)", () => {
  it("makes every running job write a checkpoint of a step finished after the call, and resolves then", async () => {
    const lines: string[] = [];
    // No checkpoints by count: the file can only come from the request.
    const processor = await startInProcessWorker({ checkpointEverySteps: 0, lines });
    await processor.checkpointNow(); // nothing running: resolves at once

    const job = await createJob(ctx, tinyRequest({ frames: 33, steps: 100 }));
    await waitFor("denoising to be under way", () => (lastDenoiseStep(job.id) >= 2 ? true : undefined), 120_000, 5);
    expect(existsSync(checkpointFile(job.id))).toBe(false);
    const before = lastDenoiseStep(job.id);
    await processor.checkpointNow();
    const cp = decodeCheckpoint(readFileSync(checkpointFile(job.id)));
    expect(cp.step).toBeGreaterThan(before);
    expect(cp.step).toBeLessThan(100);
    expect(cp.total).toBe(100);

    await cancelJob(ctx, job.id);
    await waitForStatus(ctx, job.id, "canceled");
    await waitFor("the canceled run to end", () => (processor.running().length === 0 ? true : undefined));
    expect(existsSync(checkpointFile(job.id))).toBe(false); // removed when the job ended
  });

  it("answers at once outside the denoising loop, and when the loop ends before the next step", async () => {
    const checkpoints = new JobCheckpoints({ storage: ctx.storage, jobId: "job-00000000", every: 0, log: () => {} });
    checkpoints.phase("load");
    await checkpoints.request();
    checkpoints.phase("denoise");
    let answered = false;
    const pending = checkpoints.request().then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    checkpoints.phase("decode");
    await pending;
    expect(answered).toBe(true);
  });
});
