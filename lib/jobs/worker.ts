/**
 * A generation worker's life: announce itself in Redis (the health endpoint lists live workers), put
 * back on the queue what Redis lost (reconcileQueue, at start and every minute), consume the queue with
 * the job processor. Leaving, three ways:
 * - drain (first SIGTERM): announce "draining", take no new job, finish the running ones, then close;
 * - leave (second SIGTERM): ask the running jobs for a checkpoint (the processor's checkpointNow, when it
 *   has one) and go without recording anything: the job stays "running", its lock lapses and another
 *   worker resumes it, exactly as after a crash, only sooner;
 * - close: let go at once without waiting for a running job (same takeover).
 * workers/generate.ts runs it with the engine; tests run it with their own generation function.
 */
import os from "node:os";
import { randomUUID } from "node:crypto";
import type { StudioConfig } from "../config.ts";
import { createDb } from "../db/client.ts";
import type { RunGeneration } from "../engine/generation.ts";
import { createGenerateQueue, createGenerateWorker } from "../queue/generate-queue.ts";
import { announceWorker, HEARTBEAT_MS, retireWorker, type WorkerInfo } from "../queue/worker-registry.ts";
import { createRedis } from "../redis/connection.ts";
import { createStorage } from "../storage/storage.ts";
import { startWebhookWorker } from "../webhooks/worker.ts";
import { createJobProcessor } from "./processor.ts";
import { reconcileQueue } from "./reconcile.ts";

/** How often a running worker re-checks the queue against the database (jobs BullMQ gave up on). */
const RECONCILE_MS = 60_000;

export type GenerationWorkerOptions = {
  cfg: StudioConfig;
  runGeneration: RunGeneration;
  executionProviders: string[];
  /** The GPU the sessions run on (WebGPU), for the health endpoint. */
  adapter?: WorkerInfo["adapter"];
  log: (line: string) => void;
};

export type GenerationWorker = {
  info: WorkerInfo;
  /** Takes no new job, finishes the running ones, then closes; announced as "draining" meanwhile. */
  drain(): Promise<void>;
  /** Checkpoints the running jobs (at their next finished denoising step) and retires the worker; the caller then exits. */
  leave(): Promise<void>;
  close(): Promise<void>;
};

export async function startGenerationWorker(opts: GenerationWorkerOptions): Promise<GenerationWorker> {
  const { cfg, log } = opts;
  const redis = createRedis(cfg.redisUrl, "worker");
  const db = createDb(cfg.databaseUrl);
  const info: WorkerInfo = {
    id: `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    host: os.hostname(),
    pid: process.pid,
    executionProviders: opts.executionProviders,
    adapter: opts.adapter ?? null,
    model: null,
    startedAt: new Date().toISOString(),
    busy: false,
    concurrency: cfg.workerConcurrency,
    state: "ready",
  };

  const processor = await createJobProcessor({
    db,
    redis,
    redisPrefix: cfg.redisPrefix,
    storage: createStorage(cfg.dataDir),
    runGeneration: opts.runGeneration,
    workerId: info.id,
    checkpointEverySteps: cfg.checkpointEverySteps,
    log,
  });
  const queue = createGenerateQueue(redis, cfg.redisPrefix);
  const events = { redis, prefix: cfg.redisPrefix };
  await reconcileQueue(db, queue, { events, log });
  const worker = createGenerateWorker({
    connection: createRedis(cfg.redisUrl, "worker-queue"),
    prefix: cfg.redisPrefix,
    processor: processor.process,
    concurrency: cfg.workerConcurrency,
    lockMs: cfg.lockMs,
    name: info.id,
  });
  worker.on("error", (e) => log(`queue error: ${e.message}`));
  const webhooks = startWebhookWorker({
    connection: createRedis(cfg.redisUrl, "worker-webhooks"),
    prefix: cfg.redisPrefix,
    db,
    settings: { url: cfg.webhookUrl, secret: cfg.webhookSecret },
    log,
  });

  const beat = () => {
    info.busy = processor.running().length > 0;
    void announceWorker(redis, cfg.redisPrefix, info).catch(() => {});
  };
  await announceWorker(redis, cfg.redisPrefix, info);
  const heartbeat = setInterval(beat, HEARTBEAT_MS);
  worker.on("active", beat);
  worker.on("completed", beat);
  worker.on("failed", beat);
  const reconciler = setInterval(
    () => void reconcileQueue(db, queue, { events, log }).catch((e) => log(`reconcile failed: ${(e as Error).message}`)),
    RECONCILE_MS,
  );
  log(`worker ${info.id} ready (lock ${cfg.lockMs} ms, concurrency ${cfg.workerConcurrency})`);

  let closing: Promise<void> | undefined;
  const shutDown = (waitForJobs: boolean) => {
    closing ??= (async () => {
      clearInterval(reconciler);
      // The heartbeat goes on while running jobs finish, so the worker stays listed (as draining).
      await worker.close(!waitForJobs).catch(() => {});
      clearInterval(heartbeat);
      await webhooks.close().catch(() => {});
      await processor.close().catch(() => {});
      await retireWorker(redis, cfg.redisPrefix, info.id).catch(() => {});
      await queue.close().catch(() => {});
      await db.$disconnect().catch(() => {});
      redis.disconnect();
    })();
    return closing;
  };
  return {
    info,
    async drain() {
      info.state = "draining";
      beat();
      log(`worker ${info.id} draining: finishing ${processor.running().length} running job(s), taking no new one`);
      await shutDown(true);
      log(`worker ${info.id} drained`);
    },
    async leave() {
      const running = processor.running();
      log(`worker ${info.id} leaving: checkpointing ${running.length} running job(s) for another worker to resume`);
      if (running.length) await processor.checkpointNow().catch((e) => log(`checkpoint failed: ${(e as Error).message}`));
      await retireWorker(redis, cfg.redisPrefix, info.id).catch(() => {});
    },
    close: () => shutDown(false),
  };
}
