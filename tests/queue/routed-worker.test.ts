/**
 * One worker process over several class queues (lib/queue/routed-worker.ts) on the test Redis: it never
 * runs more jobs at once than its concurrency, whatever the classes; it leaves classes it cannot run to
 * others; a class first used while the studio is paused starts paused; and a job's band order holds in
 * its class queue. Real BullMQ queues and Workers.
 */
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import { createGenerateQueue, type GenerateQueue } from "../../lib/queue/generate-queue.ts";
import { waitingOrder } from "../../lib/queue/queue-order.ts";
import { createGenerateWorker, type GenerateWorker } from "../../lib/queue/routed-worker.ts";
import type { JobClass } from "../../lib/queue/routing.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { newId } from "../../lib/storage/ids.ts";
import { redisDbUrl, waitFor } from "../helpers/jobs-context.ts";

const url = redisDbUrl(inject("redisUrl"), 9);
const redis = createRedis(url, "routed-worker-test");
let prefix = "";
let queue: GenerateQueue;
const workers: GenerateWorker[] = [];

const small: JobClass = { model: "m", kind: "t2v", memoryGiB: 2 };
const large: JobClass = { model: "m", kind: "t2v", memoryGiB: 8 };
const i2v: JobClass = { model: "m", kind: "i2v", memoryGiB: 2 };

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close(true)));
  await queue?.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
});
afterAll(() => redis.disconnect());

function fresh(): GenerateQueue {
  prefix = `routed-${Math.random().toString(36).slice(2, 8)}`;
  queue = createGenerateQueue(redis, prefix);
  return queue;
}

/** A worker whose jobs hold their slot until `release` is called; it records what ran and the most at once. */
function startWorker(opts: { concurrency: number; canRun?: (c: JobClass) => boolean }) {
  const ran: string[] = [];
  const holds = new Map<string, () => void>();
  let now = 0;
  let most = 0;
  const worker = createGenerateWorker({
    connection: createRedis(url, "routed-worker"),
    prefix,
    concurrency: opts.concurrency,
    lockMs: 5_000,
    refreshMs: 200,
    canRun: opts.canRun,
    processor: async (job) => {
      now++;
      most = Math.max(most, now);
      ran.push(job.data.jobId);
      await new Promise<void>((resolve) => holds.set(job.data.jobId, resolve));
      now--;
    },
  });
  worker.on("error", () => {});
  workers.push(worker);
  return { worker, ran, holds, most: () => most, release: (id: string) => holds.get(id)?.() };
}

describe("a worker over several class queues", () => {
  it("runs at most its concurrency at once across classes, and every job in the end", async () => {
    fresh();
    const ids = [newId(), newId(), newId(), newId()];
    for (const [i, id] of ids.entries()) await queue.add([small, large, i2v][i % 3], id, "normal");
    const w = startWorker({ concurrency: 1 });
    for (let done = 0; done < ids.length; done++) {
      const running = await waitFor(`job ${done + 1} to start`, () => (w.ran.length === done + 1 ? w.ran[done] : undefined), 20_000);
      // Others are fetched meanwhile (their Workers race for the free slot) but handed back, never run.
      await new Promise((r) => setTimeout(r, 300));
      expect(w.ran.length).toBe(done + 1);
      w.release(running);
    }
    expect(w.ran.sort()).toEqual([...ids].sort());
    expect(w.most()).toBe(1);
    expect(await waitingOrder(queue, [])).toEqual([]);
  });

  it("takes only the classes it can run; the others wait for a worker that can", async () => {
    fresh();
    const [s, l] = [newId(), newId()];
    await queue.add(small, s, "normal");
    await queue.add(large, l, "normal");
    const smallOnly = startWorker({ concurrency: 2, canRun: (c) => c.memoryGiB <= 4 });
    await waitFor("the small job to run", () => (smallOnly.ran.includes(s) ? true : undefined), 20_000);
    smallOnly.release(s);
    await new Promise((r) => setTimeout(r, 500));
    expect(smallOnly.ran).toEqual([s]);
    expect(smallOnly.worker.consumed()).toEqual([small]);
    expect((await waitingOrder(queue, [])).map((j) => j.id)).toEqual([l]);
    const big = startWorker({ concurrency: 1 });
    await waitFor("the large job to run on the large worker", () => (big.ran.includes(l) ? true : undefined), 20_000);
    big.release(l);
  });

  it("a class first used while paused starts paused; resume lets it run; bands order each class", async () => {
    fresh();
    await queue.pause();
    const w = startWorker({ concurrency: 1 });
    const [low, high] = [newId(), newId()];
    await queue.add(i2v, low, "low");
    await queue.add(i2v, high, "high");
    await new Promise((r) => setTimeout(r, 800));
    expect(w.ran).toEqual([]);
    expect(await queue.isPaused()).toBe(true);
    expect((await waitingOrder(queue, [])).map((j) => [j.id, j.priority])).toEqual([
      [high, "high"],
      [low, "low"],
    ]);
    await queue.resume();
    await waitFor("the high job to run first", () => (w.ran.length === 1 ? true : undefined), 20_000);
    expect(w.ran).toEqual([high]);
    w.release(high);
    await waitFor("the low job to run", () => (w.ran.length === 2 ? true : undefined), 20_000);
    w.release(low);
  });
});
