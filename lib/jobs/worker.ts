/**
 * A generation worker's life: announce itself in Redis (the health endpoint lists live workers), put
 * back on the queue what Redis lost (reconcileQueue, at start and every minute), consume the queue with
 * the job processor, and on shutdown let go without waiting for a running job — its lock lapses and
 * another worker (or this one, restarted) takes the job over, exactly as after a crash, only sooner.
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

export type GenerationWorker = { info: WorkerInfo; close(): Promise<void> };

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
  return {
    info,
    close() {
      closing ??= (async () => {
        clearInterval(heartbeat);
        clearInterval(reconciler);
        await worker.close(true).catch(() => {});
        await webhooks.close().catch(() => {});
        await processor.close().catch(() => {});
        await retireWorker(redis, cfg.redisPrefix, info.id).catch(() => {});
        await queue.close().catch(() => {});
        await db.$disconnect().catch(() => {});
        redis.disconnect();
      })();
      return closing;
    },
  };
}
