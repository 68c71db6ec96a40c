/**
 * The worker side of model installs: consumes the install queue one install at a time (downloads and
 * conversions are disk- and network-bound; two at once only slow each other), runs installModel with the
 * hub settings of this process (HF_ENDPOINT, HF_TOKEN), stores and publishes progress as it goes, and stops
 * an install when its cancel arrives (the same cancel channel jobs use). A failed or cancelled install
 * leaves nothing in MODELS_DIR (installModel's work folder); either way the queue job ends failed, with
 * CANCELED_REASON for a cancel, and the final state is published.
 */
import { UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Hub } from "../hub/repo.ts";
import { subscribeCancel } from "../queue/cancel.ts";
import { workerTiming } from "../queue/generate-queue.ts";
import { installModel, removeAbandonedWork } from "./install.ts";
import { CANCELED_REASON, createInstallQueue, INSTALL_QUEUE, installJson, publishInstall, type InstallJobData } from "./install-queue.ts";

export type InstallWorkerOptions = {
  /** For events and cancels. */
  redis: Redis;
  /** A connection of its own: BullMQ blocks on it while waiting for jobs. */
  connection: Redis;
  /** The studio's Redis namespace (the same as the web server's). */
  prefix: string;
  modelsDir: string;
  hub: Hub;
  lockMs: number;
  log: (line: string) => void;
};

export type InstallWorker = { close(): Promise<void> };

export async function startInstallWorker(opts: InstallWorkerOptions): Promise<InstallWorker> {
  const { redis, log } = opts;
  const queue = createInstallQueue(redis, opts.prefix);
  const runningNames = new Set((await queue.getJobs(["active"], 0, 999)).map((j) => j?.data.spec.name).filter((n): n is string => !!n));
  await queue.close();
  for (const entry of await removeAbandonedWork(opts.modelsDir, runningNames)) log(`removed ${entry}: the work folder of an install that did not finish`);
  const running = new Map<string, AbortController>();
  const stopListening = await subscribeCancel(redis, opts.prefix, (id) => {
    const abort = running.get(id);
    if (!abort) return;
    log(`install ${id}: cancel requested`);
    abort.abort(new Error(CANCELED_REASON));
  });
  const publish = async (job: Job<InstallJobData>, state?: string) => {
    await publishInstall(redis, opts.prefix, await installJson(job, state)).catch((e) => log(`install ${job.data.id}: publishing failed: ${(e as Error).message}`));
  };

  const process = async (job: Job<InstallJobData>): Promise<{ name: string }> => {
    const { id, spec } = job.data;
    const abort = new AbortController();
    running.set(id, abort);
    log(`install ${id}: ${spec.name} (${spec.precision}) starting`);
    await publish(job, "active");
    // Progress is stored and published in order, and all of it before the final state.
    let reported = Promise.resolve();
    try {
      await installModel(spec, {
        modelsDir: opts.modelsDir,
        hub: opts.hub,
        signal: abort.signal,
        log: (line) => log(`install ${id}: ${line}`),
        onProgress: (p) => {
          reported = reported.then(() => job.updateProgress(p)).then(() => publish(job, "active"), () => {});
        },
      });
      log(`install ${id}: ${spec.name} installed`);
      return { name: spec.name };
    } catch (e) {
      const message = abort.signal.aborted ? (abort.signal.reason as Error).message : (e as Error).message;
      log(`install ${id}: ${message === CANCELED_REASON ? "canceled" : `failed: ${message}`}`);
      throw new UnrecoverableError(message);
    } finally {
      running.delete(id);
      await reported;
    }
  };

  const worker = new Worker<InstallJobData, { name: string }>(INSTALL_QUEUE, process, {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: 1,
    ...workerTiming(opts.lockMs),
  });
  worker.on("error", (e) => log(`install queue error: ${e.message}`));
  worker.on("completed", (job) => void publish(job, "completed"));
  worker.on("failed", (job) => void (job && publish(job, "failed")));

  return {
    async close() {
      // Nothing half-done survives a shutdown either: the install fails and says to start it again.
      for (const abort of running.values()) abort.abort(new Error("the worker stopped during the install; install the model again"));
      await worker.close().catch(() => {});
      await stopListening().catch(() => {});
      opts.connection.disconnect();
    },
  };
}
