/**
 * The worker side of a job: what one BullMQ delivery of a studio job does.
 *
 * 1. Load the job row. Gone (deleted) or no longer queued/running (canceled while waiting): skip.
 * 2. Claim it: status "running", attempts + 1, this worker's id — in one conditional update, so a
 *    cancel that lands first wins. A row already "running" is a recovery after a crashed worker.
 * 3. Run the engine (run-job.ts) with an AbortController that the cancel channel (and BullMQ's own
 *    signal) aborts, and record the outcome with timings (outcome.ts). Engine errors and cancels throw
 *    UnrecoverableError, so BullMQ does not retry them; anything else thrown here (the database or Redis
 *    failing) is a crash and is retried, as is a worker that dies mid-job (its lock expires and another
 *    worker takes the job).
 *
 * Every few denoising steps the running job stores a checkpoint in its folder (checkpoints.ts); the attempt
 * that takes a job over after a crash continues from it. `checkpointNow` asks every running job for a fresh one
 * (for a graceful drain).
 *
 * The engine publishes its files by temp-file + rename; whatever a failed, canceled or crashed run
 * left behind is removed, and the video is only ever served once the row says "succeeded".
 */
import { UnrecoverableError, type Job as QueueJob, type Processor } from "bullmq";
import type { Redis } from "ioredis";
import { DEFAULT_CHECKPOINT_EVERY_STEPS } from "../config.ts";
import type { Db, JobRow } from "../db/client.ts";
import type { RunGeneration } from "../engine/generation.ts";
import { subscribeCancel } from "../queue/cancel.ts";
import { publishEvent, type StudioEventInput } from "../queue/events.ts";
import type { GenerateJobData } from "../queue/generate-queue.ts";
import { isValidId } from "../storage/ids.ts";
import { JOB_RUN_OUTPUTS, type Storage } from "../storage/storage.ts";
import { JobCheckpoints, removeStoredCheckpoint } from "./checkpoints.ts";
import { errorText, type OutcomeDeps } from "./outcome.ts";
import { runJob, type RunJobDeps } from "./run-job.ts";

export type JobProcessorOptions = {
  db: Db;
  /** For publishing; the cancel subscription uses a duplicate of it. */
  redis: Redis;
  /** The studio's Redis namespace (REDIS_PREFIX). */
  redisPrefix: string;
  storage: Storage;
  runGeneration: RunGeneration;
  workerId: string;
  log?: (line: string) => void;
  /** Minimum time between progress writes to the database (default 1000 ms). */
  progressWriteMs?: number;
  /** CHECKPOINT_EVERY_STEPS (default 5): denoising steps between two checkpoints of a job; 0: none by count. */
  checkpointEverySteps?: number;
};


export type JobProcessor = {
  /** The BullMQ processor function. */
  process: Processor<GenerateJobData, void>;
  /** Aborts the job if this process runs it; true if it did. */
  cancel(jobId: string): boolean;
  /** Ids of the jobs running in this process. */
  running(): string[];
  /**
   * Asks every running job to write a checkpoint at its next finished denoising step; resolves when each has
   * written one (at once for a job not denoising). For a graceful drain: stop the worker after this, and the
   * job's next attempt loses at most the step in progress.
   */
  checkpointNow(): Promise<void>;
  /** Stops listening for cancels (running jobs are left to the worker's own shutdown). */
  close(): Promise<void>;
};

/**
 * Claims a queued (or, after a crash, still running) job for this worker in one conditional update, so a
 * cancel that lands first wins. Returns the row as it was before the claim, or undefined to skip the job.
 */
async function claimJob(db: Db, jobId: string, workerId: string, log: (line: string) => void): Promise<JobRow | undefined> {
  const row = await db.job.findUnique({ where: { id: jobId } });
  if (!row || (row.status !== "queued" && row.status !== "running")) {
    log(`job ${jobId}: skipped (${row ? row.status : "deleted"})`);
    return undefined;
  }
  const claimed = await db.job.updateMany({
    where: { id: jobId, status: { in: ["queued", "running"] } },
    data: {
      status: "running",
      attempts: { increment: 1 },
      workerId,
      startedAt: new Date(),
      finishedAt: null,
      resumedFromStep: null,
      phase: "load",
      step: 0,
      totalSteps: 0,
      etaS: null,
      error: null,
    },
  });
  if (claimed.count === 0) {
    log(`job ${jobId}: skipped (canceled or deleted as it started)`);
    return undefined;
  }
  return row;
}

/**
 * Not the engine: the database, Redis or the disk failed. BullMQ retries; the row says so (queued again,
 * or failed after the last attempt).
 */
async function recordWorkerFailure(
  queueJob: QueueJob<GenerateJobData>,
  error: unknown,
  deps: Pick<OutcomeDeps, "db" | "storage" | "workerId" | "publish" | "log">,
): Promise<void> {
  const attempts = queueJob.opts.attempts ?? 1;
  const final = queueJob.attemptsMade + 1 >= attempts;
  const message = `the worker failed: ${errorText(error)}`;
  deps.log(`job ${queueJob.id}: ${message}${final ? "" : " (will retry)"}`);
  if (!isValidId(queueJob.id)) return;
  const jobId = queueJob.id;
  await deps.db.job
    .updateMany({
      where: { id: jobId, status: "running", workerId: deps.workerId },
      data: final
        ? { status: "failed", error: message, finishedAt: new Date(), etaS: null }
        : { status: "queued", phase: null, etaS: null },
    })
    .then(async (r) => {
      if (r.count && final) {
        await deps.publish({ type: "failed", jobId, error: message });
        await removeStoredCheckpoint(deps.storage, jobId);
      }
    })
    .catch(() => {});
}

export async function createJobProcessor(opts: JobProcessorOptions): Promise<JobProcessor> {
  const { db, redis, redisPrefix, storage, runGeneration, workerId } = opts;
  const log = opts.log ?? (() => {});
  const progressWriteMs = opts.progressWriteMs ?? 1000;
  const checkpointEvery = opts.checkpointEverySteps ?? DEFAULT_CHECKPOINT_EVERY_STEPS;
  const controllers = new Map<string, AbortController>();
  const checkpointers = new Map<string, JobCheckpoints>();

  const cancel = (jobId: string): boolean => {
    const controller = controllers.get(jobId);
    if (!controller) return false;
    controller.abort();
    return true;
  };
  const stopListening = await subscribeCancel(redis, redisPrefix, (jobId) => {
    if (cancel(jobId)) log(`job ${jobId}: cancel requested`);
  });

  const publish = (event: StudioEventInput) =>
    publishEvent(redis, redisPrefix, event).catch((e) => log(`publishing ${event.type} for ${event.jobId} failed: ${errorText(e)}`));
  const deps: RunJobDeps = { db, storage, workerId, publish, log, runGeneration, progressWriteMs };

  async function run(queueJob: QueueJob<GenerateJobData>, bullSignal?: AbortSignal): Promise<void> {
    const jobId = queueJob.data?.jobId;
    if (!isValidId(jobId) || jobId !== queueJob.id) throw new UnrecoverableError(`not a studio job: ${queueJob.id}`);

    const row = await claimJob(db, jobId, workerId, log);
    if (!row) return;
    const recovering = row.status === "running";

    const controller = new AbortController();
    controllers.set(jobId, controller);
    const checkpoints = new JobCheckpoints({ storage, jobId, every: checkpointEvery, log });
    checkpointers.set(jobId, checkpoints);
    const onBullAbort = () => controller.abort();
    bullSignal?.addEventListener("abort", onBullAbort, { once: true });
    try {
      // A cancel published between the claim and the registration above reached no controller; the
      // row tells.
      const now = await db.job.findUnique({ where: { id: jobId }, select: { status: true } });
      if (now?.status !== "running") controller.abort();

      // A crashed earlier attempt may have left a temporary file, or even a finished video that was
      // never recorded: this run writes its own.
      const outputDir = await storage.ensureJobDir(jobId);
      const leftovers = await storage.removeJobOutputs(jobId, JOB_RUN_OUTPUTS);
      if (recovering || leftovers.length) {
        log(`job ${jobId}: attempt ${row.attempts + 1}${leftovers.length ? `, removed ${leftovers.join(", ")}` : ""}`);
      }
      if (!controller.signal.aborted) await publish({ type: "started", jobId, attempt: row.attempts + 1, workerId });

      const input = row.inputUploadId ? await db.upload.findUnique({ where: { id: row.inputUploadId } }) : null;
      await runJob(deps, row, input, outputDir, controller.signal, checkpoints);
    } finally {
      checkpoints.end();
      checkpointers.delete(jobId);
      controllers.delete(jobId);
      bullSignal?.removeEventListener("abort", onBullAbort);
    }
  }

  const process: Processor<GenerateJobData, void> = async (queueJob, _token, signal) => {
    try {
      await run(queueJob, signal);
    } catch (error) {
      if (error instanceof UnrecoverableError) throw error;
      await recordWorkerFailure(queueJob, error, { db, storage, workerId, publish, log });
      throw error;
    }
  };

  return {
    process,
    cancel,
    running: () => [...controllers.keys()],
    checkpointNow: async () => {
      await Promise.all([...checkpointers.values()].map((c) => c.request()));
    },
    close: stopListening,
  };
}

