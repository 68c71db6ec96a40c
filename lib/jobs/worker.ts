/**
 * A generation worker's life: check that its storage root is the studio's (lib/storage/marker.ts),
 * announce itself and what it can run in Redis (the health endpoint and the workers panel list live
 * workers), put back on the queue what Redis lost (reconcileQueue, at start and every minute), consume
 * the queues of the capability classes it can run (lib/queue/routing.ts) with the job processor. It needs
 * only its environment (REDIS_URL, DATABASE_URL, DATA_DIR, MODELS_DIR), never the web server. Leaving,
 * three ways:
 * - drain (first SIGTERM): announce "draining", take no new job, finish the running ones, then close;
 * - leave (second SIGTERM): ask the running jobs for a checkpoint (the processor's checkpointNow) and go
 *   without recording anything: the job stays "running", its lock lapses and another worker resumes it,
 *   exactly as after a crash, only sooner;
 * - close: let go at once without waiting for a running job (same takeover).
 * workers/generate.ts runs it with the engine; tests run it with their own generation function.
 */
import os from "node:os";
import { randomUUID } from "node:crypto";
import type { StudioConfig } from "../config.ts";
import { createDb } from "../db/client.ts";
import { detectDeviceMemory, type DeviceMemory } from "../engine/device-memory.ts";
import type { RunGeneration } from "../engine/generation.ts";
import { installedModels } from "../model-library/installed.ts";
import { classOfJob, createGenerateQueue } from "../queue/generate-queue.ts";
import { createGenerateWorker } from "../queue/routed-worker.ts";
import { canRun, classQueueName, defersTo } from "../queue/routing.ts";
import { announceWorker, capabilitiesOf, HEARTBEAT_MS, listWorkers, retireWorker, type WorkerInfo } from "../queue/worker-registry.ts";
import { createRedis } from "../redis/connection.ts";
import { checkStorageRoot } from "../storage/marker.ts";
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
  /** The device's memory; default: detected for the first execution provider (WORKER_MEMORY_GB overrides). */
  memory?: DeviceMemory;
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
  const storage = createStorage(cfg.dataDir);
  let storageId: string;
  try {
    storageId = await checkStorageRoot(redis, cfg.redisPrefix, storage.root);
  } catch (e) {
    redis.disconnect();
    throw e;
  }
  const db = createDb(cfg.databaseUrl);
  const memory = opts.memory ?? detectDeviceMemory(opts.executionProviders[0] ?? "cpu", cfg.workerMemoryGiB);
  const info: WorkerInfo = {
    id: `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    host: os.hostname(),
    pid: process.pid,
    executionProviders: opts.executionProviders,
    adapter: opts.adapter ?? null,
    model: null,
    startedAt: new Date().toISOString(),
    busy: false,
    running: 0,
    concurrency: cfg.workerConcurrency,
    state: "ready",
    memory,
    models: installedModels(cfg.modelsDir),
    kinds: cfg.workerKinds,
    queues: [],
    storageId,
  };
  if (memory.source === "unknown") log("worker memory unknown (no nvidia-smi): routing applies no memory limit; set WORKER_MEMORY_GB");

  const processor = await createJobProcessor({
    db,
    redis,
    redisPrefix: cfg.redisPrefix,
    storage,
    runGeneration: opts.runGeneration,
    workerId: info.id,
    checkpointEverySteps: cfg.checkpointEverySteps,
    log,
  });
  const queue = createGenerateQueue(redis, cfg.redisPrefix);
  const events = { redis, prefix: cfg.redisPrefix };
  const reconcile = () => reconcileQueue(db, queue, { modelsDir: cfg.modelsDir, events, log });
  await reconcile();

  // Live peers, read once per heartbeat for the prefer-loaded rule (routing.ts, defersTo).
  let peers = await listWorkers(redis, cfg.redisPrefix);
  const worker = createGenerateWorker({
    connection: createRedis(cfg.redisUrl, "worker-queue"),
    prefix: cfg.redisPrefix,
    processor: processor.process,
    concurrency: cfg.workerConcurrency,
    lockMs: cfg.lockMs,
    name: info.id,
    canRun: (c) => info.state === "ready" && canRun(capabilitiesOf(info), c),
    defers: async (c, oldestWaitingMs) => {
      // Only a peer that can run the class will take the job: one with the model loaded but too little memory
      // (or not taking the kind) would otherwise hold it back for the whole grace.
      const able = peers.filter((p) => p.id !== info.id && p.model === c.model && canRun(capabilitiesOf(p), c));
      if (able.length === 0) return false;
      return defersTo(info, c, able, await oldestWaitingMs(), cfg.routingGraceMs) !== undefined;
    },
  });
  worker.on("error", (e) => log(`queue error: ${e.message}`));
  const announce = async () => {
    info.running = processor.running().length;
    info.busy = info.running > 0;
    info.models = installedModels(cfg.modelsDir);
    info.queues = worker.consumed().map(classQueueName);
    await announceWorker(redis, cfg.redisPrefix, info);
    peers = await listWorkers(redis, cfg.redisPrefix);
  };
  const beat = () => void announce().catch(() => {});
  // Listening before the first refresh: a job already waiting is taken as soon as its class is seen.
  worker.on("active", (job) => {
    // The engine keeps the sessions of the last model it ran: that is the model loaded now.
    info.model = classOfJob(job)?.model ?? info.model;
    log(`job ${job.id}: taken from ${job.queueName}`);
    beat();
  });
  worker.on("completed", () => beat());
  worker.on("failed", () => beat());
  const webhooks = startWebhookWorker({
    connection: createRedis(cfg.redisUrl, "worker-webhooks"),
    prefix: cfg.redisPrefix,
    db,
    settings: { url: cfg.webhookUrl, secret: cfg.webhookSecret },
    log,
  });

  await announce();
  await worker.refresh();
  await announce();
  const heartbeat = setInterval(beat, HEARTBEAT_MS);
  const reconciler = setInterval(() => void reconcile().catch((e) => log(`reconcile failed: ${(e as Error).message}`)), RECONCILE_MS);
  const mem = memory.totalBytes === null ? "unknown" : `${(memory.totalBytes / 2 ** 30).toFixed(1)} GiB (${memory.source})`;
  log(`worker ${info.id} ready (lock ${cfg.lockMs} ms, concurrency ${cfg.workerConcurrency}, memory ${mem}, models ${info.models.join(", ") || "none"}, kinds ${info.kinds.join(", ")})`);

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
      // Consuming needs state "ready": the refresh pauses every class queue of this process.
      await worker.refresh().catch(() => {});
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
