/**
 * Two studios on one Redis (same server, same database): each configuration's namespace keeps its queue,
 * its event and cancel channels and its worker keys apart, so a worker never takes the other studio's
 * jobs. Real Redis, real BullMQ queues and workers, configurations from loadConfig.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { defaultRedisPrefix, loadConfig, type StudioConfig } from "../../lib/config.ts";
import { publishCancel, subscribeCancel } from "../../lib/queue/cancel.ts";
import { publishEvent, subscribeEvents, type StudioEvent } from "../../lib/queue/events.ts";
import { createGenerateQueue, enqueueGeneration, type GenerateQueue } from "../../lib/queue/generate-queue.ts";
import { createGenerateWorker, type GenerateWorker } from "../../lib/queue/routed-worker.ts";
import { announceWorker, listWorkers, retireWorker } from "../../lib/queue/worker-registry.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { newId } from "../../lib/storage/ids.ts";
import { redisDbUrl, waitFor } from "../helpers/jobs-context.ts";

const url = redisDbUrl(inject("redisUrl"), 3);
const redis = createRedis(url, "namespace-test");
const studios: { cfg: StudioConfig; queue: GenerateQueue; taken: string[]; worker: GenerateWorker }[] = [];

beforeAll(async () => {
  await redis.flushdb();
  for (const dataDir of ["/srv/studio-a/data", "/srv/studio-b/data"]) {
    const cfg = loadConfig({ DATA_DIR: dataDir, REDIS_URL: url }, "/");
    const taken: string[] = [];
    const worker = createGenerateWorker({
      connection: createRedis(url, `worker-${dataDir}`),
      prefix: cfg.redisPrefix,
      processor: async (job: { data: { jobId: string } }) => {
        taken.push(job.data.jobId);
      },
      concurrency: 1,
      lockMs: 5_000,
    });
    worker.on("error", () => {});
    studios.push({ cfg, queue: createGenerateQueue(redis, cfg.redisPrefix), taken, worker });
  }
});
afterAll(async () => {
  for (const s of studios) {
    await s.worker.close(true);
    await s.queue.close();
  }
  await redis.flushdb();
  redis.disconnect();
});

describe("Redis namespace", () => {
  it("defaults to one prefix per absolute data folder; REDIS_PREFIX overrides it and is validated", () => {
    const [a, b] = studios.map((s) => s.cfg.redisPrefix);
    expect(a).toBe(defaultRedisPrefix(path.resolve("/srv/studio-a/data")));
    expect(a).not.toBe(b);
    expect(loadConfig({ DATA_DIR: "data" }, "/srv/studio-a").redisPrefix).toBe(a);
    expect(loadConfig({ DATA_DIR: "/x", REDIS_PREFIX: "main" }, "/").redisPrefix).toBe("main");
    expect(() => loadConfig({ REDIS_PREFIX: "a b" }, "/")).toThrow(/REDIS_PREFIX must be 1–64 letters/);
  });

  it("each studio's worker takes only its own studio's jobs", async () => {
    const [a, b] = studios;
    const jobsA = [newId(), newId(), newId()];
    const jobsB = [newId(), newId()];
    const jobClass = { model: "tiny", kind: "t2v", memoryGiB: 1 } as const;
    for (const id of jobsA) await enqueueGeneration(a.queue, id, jobClass);
    for (const id of jobsB) await enqueueGeneration(b.queue, id, jobClass);
    await waitFor("both workers to drain their queues", () =>
      a.taken.length === jobsA.length && b.taken.length === jobsB.length ? true : undefined,
    );
    expect(a.taken.sort()).toEqual(jobsA.sort());
    expect(b.taken.sort()).toEqual(jobsB.sort());
    // Every key either studio wrote is under its own prefix.
    const keys = await redis.keys("*");
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(studios.some((s) => key.startsWith(`${s.cfg.redisPrefix}:`)), key).toBe(true);
  });

  it("events, cancels and worker keys stay within their studio", async () => {
    const [a, b] = studios.map((s) => s.cfg.redisPrefix);
    const seen: Record<string, StudioEvent[]> = { a: [], b: [] };
    const cancels: Record<string, string[]> = { a: [], b: [] };
    const stops = [
      await subscribeEvents(redis, a, (e) => seen.a.push(e)),
      await subscribeEvents(redis, b, (e) => seen.b.push(e)),
      await subscribeCancel(redis, a, (id) => cancels.a.push(id)),
      await subscribeCancel(redis, b, (id) => cancels.b.push(id)),
    ];
    try {
      // A, then B, then A again: once A's second messages arrive, anything B's leaked would have too.
      const [jobA, jobB, jobA2] = [newId(), newId(), newId()];
      for (const [prefix, jobId] of [[a, jobA], [b, jobB], [a, jobA2]] as const) {
        await publishEvent(redis, prefix, { type: "canceled", jobId });
        await publishCancel(redis, prefix, jobId);
      }
      await waitFor("every message", () =>
        seen.a.length === 2 && seen.b.length && cancels.a.length === 2 && cancels.b.length ? true : undefined,
      );
      expect(seen.a.map((e) => e.jobId)).toEqual([jobA, jobA2]);
      expect(seen.b.map((e) => e.jobId)).toEqual([jobB]);
      expect(cancels).toEqual({ a: [jobA, jobA2], b: [jobB] });
    } finally {
      for (const stop of stops) await stop();
    }

    const info = {
      host: "h",
      pid: 1,
      executionProviders: ["cpu"],
      adapter: null,
      model: null,
      startedAt: "",
      busy: false,
      running: 0,
      concurrency: 1,
      state: "ready" as const,
      memory: { totalBytes: null, freeBytes: null, source: "unknown" },
      models: [],
      kinds: [],
      queues: [],
      storageId: null,
    };
    await announceWorker(redis, a, { ...info, id: "worker-a" });
    await announceWorker(redis, b, { ...info, id: "worker-b" });
    expect((await listWorkers(redis, a)).map((w) => w.id)).toEqual(["worker-a"]);
    expect((await listWorkers(redis, b)).map((w) => w.id)).toEqual(["worker-b"]);
    await retireWorker(redis, a, "worker-a");
    expect(await listWorkers(redis, a)).toEqual([]);
    expect((await listWorkers(redis, b)).map((w) => w.id)).toEqual(["worker-b"]);
  });
});
