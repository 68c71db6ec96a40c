/**
 * One worker process consuming the class queues it can run (routing.ts) with BullMQ's own means: one
 * BullMQ Worker per class queue, all sharing the process's concurrency. The classes in use are read from
 * the class set every `refreshMs`; a class this process can run gets a Worker, which runs while the class
 * is wanted (not deferred to a peer that has the model loaded) and a slot is free, and is paused locally
 * otherwise (Worker.pause(true): the running job goes on, no new one is fetched). A Worker that fetched a
 * job in the moment between the last slot being taken and its pause hands the job back at the front of
 * its band with Job.moveToWait + WaitingError, BullMQ's documented way of returning an active job.
 */
import { EventEmitter } from "node:events";
import { Queue, WaitingError, Worker, type Processor } from "bullmq";
import type { Redis } from "ioredis";
import { classSetKey, workerTiming, type GenerateJob, type GenerateJobData } from "./generate-queue.ts";
import { parseClassQueueName, type JobClass } from "./routing.ts";

export type GenerateWorkerOptions = {
  /** Shared by the class Workers (BullMQ gives each a blocking duplicate of it). */
  connection: Redis;
  /** The studio's Redis namespace: the same as its producers'. */
  prefix: string;
  processor: Processor<GenerateJobData, void>;
  /** Jobs this process runs at once, over all its class queues. */
  concurrency: number;
  lockMs: number;
  /** Stored on each job it takes, for monitoring. */
  name?: string;
  /** The classes this process can run (re-asked at every refresh); default: every class. */
  canRun?: (c: JobClass) => boolean;
  /** A class it can run but leaves to another worker for now (routing.ts, defersTo); default: none. */
  defers?: (c: JobClass, oldestWaitingMs: () => Promise<number | null>) => Promise<boolean>;
  /** How often the class set and the deferrals are read again (default 1000 ms). */
  refreshMs?: number;
};

export type GenerateWorker = {
  on(event: "active" | "completed", listener: (job: GenerateJob) => void): GenerateWorker;
  on(event: "failed", listener: (job: GenerateJob | undefined, error: Error) => void): GenerateWorker;
  on(event: "error", listener: (error: Error) => void): GenerateWorker;
  /** The classes it consumes now (wanted, whether or not a slot is free). */
  consumed(): JobClass[];
  /** Jobs running in this process. */
  running(): number;
  /** Reads the class set now instead of at the next refresh. */
  refresh(): Promise<void>;
  /** `force`: do not wait for running jobs (their locks lapse and another worker takes them over). */
  close(force?: boolean): Promise<void>;
};

type ClassWorker = { jobClass: JobClass; worker: Worker<GenerateJobData, void>; queue?: Queue<GenerateJobData>; wanted: boolean };

export function createGenerateWorker(opts: GenerateWorkerOptions): GenerateWorker {
  const events = new EventEmitter();
  const classes = new Map<string, ClassWorker>();
  let running = 0;
  let closing = false;
  const full = () => running >= opts.concurrency;

  /** Runs every wanted Worker while a slot is free; pauses the others (locally, this process only). */
  const apply = async () => {
    for (const cw of classes.values()) {
      const run = cw.wanted && !full() && !closing;
      if (run && (!cw.worker.isRunning() || cw.worker.isPaused())) await cw.worker.resume();
      else if (!run && cw.worker.isRunning() && !cw.worker.isPaused()) await cw.worker.pause(true);
    }
  };
  const reapply = () => void apply().catch((e: Error) => events.emit("error", e));

  const processorFor = (name: string): Processor<GenerateJobData, void> => async (job, token, signal) => {
    const cw = classes.get(name);
    if (closing || full() || !cw?.wanted) {
      // Fetched in a race with the last slot being taken (or a deferral): back to the front of its band.
      await job.moveToWait(token);
      reapply();
      throw new WaitingError();
    }
    running++;
    if (full()) reapply();
    try {
      return await opts.processor(job, token, signal);
    } finally {
      running--;
      reapply();
    }
  };

  const addClass = (name: string, jobClass: JobClass): ClassWorker => {
    const worker = new Worker<GenerateJobData, void>(name, processorFor(name), {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      name: opts.name,
      autorun: false,
      ...workerTiming(opts.lockMs),
    });
    worker.on("active", (job) => events.emit("active", job));
    worker.on("completed", (job) => events.emit("completed", job));
    worker.on("failed", (job, error) => events.emit("failed", job, error));
    worker.on("error", (error) => events.emit("error", error));
    const cw: ClassWorker = { jobClass, worker, wanted: false };
    classes.set(name, cw);
    return cw;
  };

  const oldestWaitingMs = (cw: ClassWorker) => async () => {
    cw.queue ??= new Queue<GenerateJobData>(cw.worker.name, { connection: opts.connection, prefix: opts.prefix });
    const [first] = [...(await cw.queue.getJobs(["wait"], 0, 0, true)), ...(await cw.queue.getPrioritized(0, 0))];
    return first ? Date.now() - first.timestamp : null;
  };

  const refresh = async () => {
    if (closing) return;
    for (const name of await opts.connection.smembers(classSetKey(opts.prefix))) {
      const jobClass = parseClassQueueName(name);
      if (!jobClass) continue;
      const able = opts.canRun?.(jobClass) ?? true;
      const existing = classes.get(name);
      if (!able && !existing) continue;
      const cw = existing ?? addClass(name, jobClass);
      cw.wanted = able && !(opts.defers && (await opts.defers(jobClass, oldestWaitingMs(cw))));
    }
    await apply();
  };
  const refresher = setInterval(() => void refresh().catch((e: Error) => events.emit("error", e)), opts.refreshMs ?? 1000);
  void refresh().catch((e: Error) => events.emit("error", e));

  const self: GenerateWorker = {
    on(event: string, listener: Parameters<EventEmitter["on"]>[1]) {
      events.on(event, listener);
      return self;
    },
    consumed: () => [...classes.values()].filter((cw) => cw.wanted).map((cw) => cw.jobClass),
    running: () => running,
    refresh,
    async close(force = false) {
      closing = true;
      clearInterval(refresher);
      await Promise.all(
        [...classes.values()].map(async (cw) => {
          await cw.worker.close(force);
          await cw.queue?.close();
        }),
      );
    },
  };
  return self;
}
