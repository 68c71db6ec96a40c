/**
 * The generation queue (BullMQ on Redis): producers (the API, start-up reconciliation) add one queue job
 * per studio job, with the studio job's id as the queue job's id, so adding the same job twice is a
 * no-op. Workers consume it with the settings below, which must be the same in every worker process:
 * BullMQ throttles the stalled-job check by the interval of whichever worker ran it last.
 */
import { Queue, Worker, type JobsOptions, type Processor } from "bullmq";
import type { Redis } from "ioredis";
import { DEFAULT_PRIORITY, JOB_PRIORITIES, type JobPriority } from "../schemas/job-vocabulary.ts";

export const GENERATE_QUEUE = "generate";
export const GENERATE_JOB = "generate";

export type GenerateJobData = { jobId: string };

export const GENERATE_JOB_OPTIONS = {
  // A worker that crashes mid-job makes its job stall; a processor error that is not the engine's
  // (database or Redis trouble) is retried. Engine errors and cancels are UnrecoverableError: no retry.
  attempts: 3,
  backoff: { type: "fixed", delay: 1000 },
  // The database is the history; Redis only holds what is still to do. Failed queue jobs stay a day so
  // that reconciliation can tell "failed in the queue" from "lost from Redis".
  removeOnComplete: true,
  removeOnFail: { age: 24 * 3600, count: 1000 },
} satisfies JobsOptions;

/** Lock and stalled-check settings: a crashed worker's job is picked up again after about lockMs. */
export function workerTiming(lockMs: number) {
  return { lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: 1 } as const;
}

/**
 * The Redis key of a queue job's lock, which holds the token of the worker that runs it (BullMQ keeps it
 * at `<prefix>:<queue>:<jobId>:lock`). lib/jobs/fence.ts publishes a run's events only while it holds it.
 */
export function jobLockKey(queueQualifiedName: string, jobId: string): string {
  return `${queueQualifiedName}:${jobId}:lock`;
}

export type GenerateQueue = Queue<GenerateJobData>;

/** `prefix`: the studio's Redis namespace (REDIS_PREFIX); BullMQ keeps every queue key under it. */
export function createGenerateQueue(connection: Redis, prefix: string): GenerateQueue {
  return new Queue<GenerateJobData>(GENERATE_QUEUE, { connection, prefix });
}

/**
 * BullMQ's priority of a band: lower runs first, and every job gets one (≥ 1) so that all waiting jobs
 * sit in BullMQ's one "prioritized" set, ordered by band and then by when they entered it.
 */
export function bullPriority(priority: JobPriority): number {
  return JOB_PRIORITIES.indexOf(priority) + 1;
}

export function priorityOfBull(value: number | undefined): JobPriority {
  return JOB_PRIORITIES[(value ?? 0) - 1] ?? DEFAULT_PRIORITY;
}

export async function enqueueGeneration(queue: GenerateQueue, jobId: string, priority: JobPriority = DEFAULT_PRIORITY): Promise<void> {
  await queue.add(GENERATE_JOB, { jobId }, { ...GENERATE_JOB_OPTIONS, jobId, priority: bullPriority(priority) });
}

/**
 * Several jobs in one call (a batch, in batch order): BullMQ sends the adds as one Redis MULTI, so no
 * other client sees part of them queued. Redis does not roll a MULTI back, so on an error the caller
 * still removes whatever did get in (lib/jobs/batches.ts).
 */
export async function enqueueGenerations(queue: GenerateQueue, jobIds: string[], priority: JobPriority = DEFAULT_PRIORITY): Promise<void> {
  await queue.addBulk(jobIds.map((jobId) => ({ name: GENERATE_JOB, data: { jobId }, opts: { ...GENERATE_JOB_OPTIONS, jobId, priority: bullPriority(priority) } })));
}

export type GenerateWorkerOptions = {
  /** A connection of its own: BullMQ blocks on it while waiting for jobs. */
  connection: Redis;
  /** The studio's Redis namespace: the same as its producers'. */
  prefix: string;
  processor: Processor<GenerateJobData, void>;
  concurrency: number;
  lockMs: number;
  /** Stored on each job it takes, for monitoring. */
  name?: string;
};

export function createGenerateWorker(opts: GenerateWorkerOptions): Worker<GenerateJobData, void> {
  return new Worker<GenerateJobData, void>(GENERATE_QUEUE, opts.processor, {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: opts.concurrency,
    name: opts.name,
    ...workerTiming(opts.lockMs),
  });
}
