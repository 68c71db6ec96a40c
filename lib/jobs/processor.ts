/**
 * The worker side of a job: what one BullMQ delivery of a studio job does.
 *
 * 1. Load the job row. Gone (deleted) or no longer queued/running (canceled while waiting): skip.
 * 2. Claim it: status "running", attempts + 1, this worker's id — in one conditional update, so a
 *    cancel that lands first wins. A row already "running" is a recovery after a crashed worker (or a
 *    takeover from one cut off from Redis). The new attempt number fences every later write of the run
 *    (fence.ts): a stale run of an earlier attempt can no longer commit anything.
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
 * The engine publishes its files by temp-file + rename under names of the attempt; whatever a failed,
 * canceled or crashed run left behind is removed, and the video is only ever served once the row says
 * "succeeded" (and names it).
 */
import { UnrecoverableError, type Job as QueueJob, type Processor } from "bullmq";
import type { Redis } from "ioredis";
import { DEFAULT_CHECKPOINT_EVERY_STEPS } from "../config.ts";
import type { Db, JobRow } from "../db/client.ts";
import type { RunGeneration } from "../engine/generation.ts";
import { subscribeCancel } from "../queue/cancel.ts";
import { publishEvent, publishEventWhileLocked, type StudioEventInput } from "../queue/events.ts";
import { jobLockKey, type GenerateJobData } from "../queue/generate-queue.ts";
import { isValidId } from "../storage/ids.ts";
import { isRunOutput, type Storage } from "../storage/storage.ts";
import { isPartialFile } from "../video/atomic-file.ts";
import { createRunFence, type RunFence } from "./fence.ts";
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
  // Conditional on the attempts read too: two claims of one job never get the same attempt number.
  const claimed = await db.job.updateMany({
    where: { id: jobId, status: { in: ["queued", "running"] }, attempts: row.attempts },
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
    log(`job ${jobId}: skipped (canceled, deleted or claimed by another run as it started)`);
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
  deps: Pick<OutcomeDeps, "db" | "storage" | "publish" | "log" | "fence">,
): Promise<void> {
  const attempts = queueJob.opts.attempts ?? 1;
  const final = queueJob.attemptsMade + 1 >= attempts;
  const message = `the worker failed: ${errorText(error)}`;
  deps.log(`job ${queueJob.id}: ${message}${final ? "" : " (will retry)"}`);
  if (!isValidId(queueJob.id)) return;
  const jobId = queueJob.id;
  await deps.db.job
    .updateMany({
      where: deps.fence.owned,
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

  const failedToPublish = (event: StudioEventInput) => (e: unknown) => log(`publishing ${event.type} for ${event.jobId} failed: ${errorText(e)}`);

  /**
   * The deps of one run: its events carry its attempt; progress, preview and "started" go out only while
   * the queue lock holds this run's token (BullMQ's token, when the queue gave one).
   */
  function runDeps(fence: RunFence, lock: { key: string; token: string } | undefined): RunJobDeps {
    const publish = (event: StudioEventInput) =>
      publishEvent(redis, redisPrefix, { ...event, attempt: fence.attempt }).catch(failedToPublish(event));
    let checking = false;
    const publishWhileOwned = async (event: StudioEventInput) => {
      if (fence.lostBecause) return;
      if (!lock) return await publish(event);
      const published = await publishEventWhileLocked(redis, redisPrefix, { ...event, attempt: fence.attempt }, lock).catch((e) => {
        failedToPublish(event)(e);
        return true;
      });
      if (published || checking) return;
      // The lock is gone or someone else's: the event is dropped. The run stops only once the database
      // shows another attempt; a lock that merely lapsed (a slow renewal) costs events, not the run, whose
      // commit is fenced by the database anyway.
      checking = true;
      const takenOver = await fence.takenOverBy().catch(() => undefined);
      checking = false;
      if (takenOver) fence.lose(takenOver);
    };
    return { db, storage, workerId, log, runGeneration, progressWriteMs, fence, publish, publishWhileOwned };
  }

  async function run(
    queueJob: QueueJob<GenerateJobData>,
    token: string | undefined,
    bullSignal: AbortSignal | undefined,
    onClaim: (deps: RunJobDeps) => void,
  ): Promise<void> {
    const jobId = queueJob.data?.jobId;
    if (!isValidId(jobId) || jobId !== queueJob.id) throw new UnrecoverableError(`not a studio job: ${queueJob.id}`);

    const row = await claimJob(db, jobId, workerId, log);
    if (!row) return;
    const recovering = row.status === "running";

    const controller = new AbortController();
    const fence = createRunFence({ db, jobId, attempt: row.attempts + 1, abort: (reason) => controller.abort(reason) });
    const lock = token && queueJob.queueQualifiedName ? { key: jobLockKey(queueJob.queueQualifiedName, jobId), token } : undefined;
    const deps = runDeps(fence, lock);
    onClaim(deps);
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

      // An earlier attempt may have left a temporary file, or even a finished video that was never
      // recorded: this run writes its own (and an earlier attempt still running is fenced out).
      const outputDir = await storage.ensureJobDir(jobId);
      const leftovers = await storage.removeJobOutputs(jobId, (name) => isRunOutput(name) || isPartialFile(name));
      if (recovering || leftovers.length) {
        log(`job ${jobId}: attempt ${fence.attempt}${leftovers.length ? `, removed ${leftovers.join(", ")}` : ""}`);
      }
      if (!controller.signal.aborted) await deps.publishWhileOwned({ type: "started", jobId, attempt: fence.attempt, workerId });

      const input = row.inputUploadId ? await db.upload.findUnique({ where: { id: row.inputUploadId } }) : null;
      await runJob(deps, row, input, outputDir, controller.signal, checkpoints);
    } finally {
      checkpoints.end();
      checkpointers.delete(jobId);
      controllers.delete(jobId);
      bullSignal?.removeEventListener("abort", onBullAbort);
    }
  }

  const process: Processor<GenerateJobData, void> = async (queueJob, token, signal) => {
    let claimed: RunJobDeps | undefined;
    try {
      await run(queueJob, token, signal, (deps) => (claimed = deps));
    } catch (error) {
      if (error instanceof UnrecoverableError) throw error;
      if (claimed && !claimed.fence.lostBecause) await recordWorkerFailure(queueJob, error, claimed);
      else log(`job ${queueJob.id}: the worker failed: ${errorText(error)}`);
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

