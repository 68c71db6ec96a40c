/**
 * The generation worker: one process per device. It finds the execution providers that work here, logs
 * them, announces itself in Redis (the health endpoint lists live workers), and consumes the queue.
 */
import os from "node:os";
import { randomUUID } from "node:crypto";
import { ConfigError, loadConfig } from "../lib/config.ts";
import { resolveRuntime } from "../lib/engine/runtime.ts";
import { createRedis } from "../lib/redis/connection.ts";
import { announceWorker, HEARTBEAT_MS, retireWorker, type WorkerInfo } from "../lib/queue/worker-registry.ts";

async function main(): Promise<void> {
  const cfg = loadConfig();
  const runtime = await resolveRuntime({ executionProviders: cfg.executionProviders, threads: cfg.ortThreads });
  for (const r of runtime.rejected) console.log(`execution provider ${r.provider} not used: ${r.reason}`);
  console.log(`execution providers: ${runtime.providers.join(", ")}`);

  const redis = createRedis(cfg.redisUrl, "worker");
  const info: WorkerInfo = {
    id: `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    host: os.hostname(),
    pid: process.pid,
    executionProviders: runtime.providers,
    model: null,
    startedAt: new Date().toISOString(),
    busy: false,
    concurrency: cfg.workerConcurrency,
  };
  await announceWorker(redis, info);
  const heartbeat = setInterval(() => void announceWorker(redis, info).catch(() => {}), HEARTBEAT_MS);
  console.log(`worker ${info.id} ready`);

  const shutdown = async () => {
    clearInterval(heartbeat);
    await retireWorker(redis, info.id).catch(() => {});
    redis.disconnect();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
}

main().catch((e) => {
  console.error(e instanceof ConfigError ? e.message : e);
  process.exit(1);
});
