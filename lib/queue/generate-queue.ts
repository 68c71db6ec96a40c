/**
 * The generation queues (BullMQ on Redis), one per capability class (lib/queue/routing.ts): producers
 * (the API, reconciliation) add one queue job per studio job, with the studio job's id as the queue
 * job's id, to the queue of the job's class; a worker consumes the queues of the classes it can run
 * (routed-worker.ts). The classes in use are kept in a Redis set, so workers and the queue panel find
 * every queue. Pausing the studio pauses every class queue, and a class queue created while paused
 * starts paused. The worker settings below must be the same in every worker process: BullMQ throttles
 * the stalled-job check by the interval of whichever worker ran it last.
 */
import { Queue, type Job, type JobsOptions } from "bullmq";
import type { Redis } from "ioredis";
import { redisName } from "../redis/namespace.ts";
import { DEFAULT_PRIORITY, JOB_PRIORITIES, type JobPriority } from "../schemas/job-vocabulary.ts";
import { classQueueName, parseClassQueueName, type JobClass } from "./routing.ts";

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

export type GenerateJob = Job<GenerateJobData>;
export type ClassQueue = Queue<GenerateJobData>;

/** Every class queue of one studio, as one object: what the API, reconciliation and tests hold. */
export type GenerateQueue = {
  readonly prefix: string;
  /** The queue of a class (created on first use; recorded in the class set by `add`). */
  forClass(c: JobClass): ClassQueue;
  /** The classes that have had a job since Redis last lost its data. */
  classes(): Promise<JobClass[]>;
  add(c: JobClass, jobId: string, priority: JobPriority): Promise<void>;
  /** Several jobs of one class in one Redis MULTI (BullMQ's addBulk). */
  addBulk(c: JobClass, jobIds: string[], priority: JobPriority): Promise<void>;
  /** The queue job of a studio job, in whichever class queue it is (its class: classOfJob). */
  getJob(jobId: string): Promise<GenerateJob | undefined>;
  /** Removes a waiting job from its queue; 1 if it did (as BullMQ's Queue.remove). */
  remove(jobId: string): Promise<number>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  isPaused(): Promise<boolean>;
  close(): Promise<void>;
};

/** The Redis set of class queue names, and the studio-wide pause flag. */
export const classSetKey = (prefix: string) => redisName(prefix, "routing", "classes");
const pausedKey = (prefix: string) => redisName(prefix, "routing", "paused");

/** `prefix`: the studio's Redis namespace (REDIS_PREFIX); BullMQ keeps every queue key under it. */
export function createGenerateQueue(connection: Redis, prefix: string): GenerateQueue {
  const queues = new Map<string, ClassQueue>();
  const forName = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue<GenerateJobData>(name, { connection, prefix });
      queues.set(name, q);
    }
    return q;
  };
  const classes = async () =>
    (await connection.smembers(classSetKey(prefix)))
      .sort()
      .map(parseClassQueueName)
      .filter((c): c is JobClass => c !== undefined);
  const all = async () => (await classes()).map((c) => ({ jobClass: c, queue: forName(classQueueName(c)) }));

  const self: GenerateQueue = {
    prefix,
    forClass: (c) => forName(classQueueName(c)),
    classes,
    async add(c, jobId, priority) {
      await self.addBulk(c, [jobId], priority);
    },
    async addBulk(c, jobIds, priority) {
      const name = classQueueName(c);
      const queue = forName(name);
      await connection.sadd(classSetKey(prefix), name);
      // A class first used while the studio is paused starts paused, like every other class queue.
      if (await connection.exists(pausedKey(prefix))) await queue.pause();
      const opts = (jobId: string) => ({ ...GENERATE_JOB_OPTIONS, jobId, priority: bullPriority(priority) });
      if (jobIds.length === 1) await queue.add(GENERATE_JOB, { jobId: jobIds[0] }, opts(jobIds[0]));
      else await queue.addBulk(jobIds.map((jobId) => ({ name: GENERATE_JOB, data: { jobId }, opts: opts(jobId) })));
    },
    async getJob(jobId) {
      for (const { queue } of await all()) {
        const job = await queue.getJob(jobId);
        if (job) return job;
      }
      return undefined;
    },
    async remove(jobId) {
      let removed = 0;
      for (const { queue } of await all()) removed += await queue.remove(jobId);
      return removed;
    },
    async pause() {
      await connection.set(pausedKey(prefix), "1");
      for (const { queue } of await all()) await queue.pause();
    },
    async resume() {
      await connection.del(pausedKey(prefix));
      for (const { queue } of await all()) await queue.resume();
    },
    async isPaused() {
      return (await connection.exists(pausedKey(prefix))) === 1;
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close().catch(() => {})));
    },
  };
  return self;
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

/** The class of a queue job, from the name of the queue it is in. */
export function classOfJob(job: GenerateJob): JobClass | undefined {
  return parseClassQueueName(job.queueName);
}

/**
 * Several jobs of one class in one call (a batch, in batch order): BullMQ sends the adds as one Redis MULTI,
 * so no other client sees part of them queued. Redis does not roll a MULTI back, so on an error the caller
 * still removes whatever did get in (lib/jobs/batches.ts).
 */
export async function enqueueGenerations(queue: GenerateQueue, jobIds: string[], jobClass: JobClass, priority: JobPriority = DEFAULT_PRIORITY): Promise<void> {
  await queue.addBulk(jobClass, jobIds, priority);
}

export async function enqueueGeneration(queue: GenerateQueue, jobId: string, jobClass: JobClass, priority: JobPriority = DEFAULT_PRIORITY): Promise<void> {
  await queue.add(jobClass, jobId, priority);
}
