/**
 * Routing with real worker processes (workers/generate.ts, the engine on the built-in tiny model) on real
 * Redis and a real SQLite file, started with only their environment: two workers that advertise
 * different memory (WORKER_MEMORY_GB), and a job whose estimated peak fits only the larger one. While
 * only the smaller one runs, the job stays queued and the queue says why; once the larger one joins, it
 * runs the job. A third worker whose DATA_DIR is another folder refuses to start.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createJob } from "../../lib/jobs/create.ts";
import { jobClassOf } from "../../lib/jobs/job-class.ts";
import { loadModels } from "../../lib/jobs/model-catalog.ts";
import { getQueueState } from "../../lib/jobs/queue-control.ts";
import { classQueueName } from "../../lib/queue/routing.ts";
import { listWorkers, type WorkerInfo } from "../../lib/queue/worker-registry.ts";
import { startChild, type Child } from "../../lib/supervisor.ts";
import { STORAGE_MARKER_FILE } from "../../lib/storage/marker.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { createTestJobsContext, tinyRequest, waitFor, type TestJobsContext } from "../helpers/jobs-context.ts";
import { TINY_T2V } from "../helpers/models.ts";

let ctx: TestJobsContext;
const children: Child[] = [];
const lines: string[] = [];

beforeAll(async () => {
  ctx = await createTestJobsContext({ redisUrl: inject("redisUrl"), redisDb: 8, prefix: "routing-workers", model: "tiny" });
});
afterAll(async () => {
  await Promise.all(children.map((c) => c.stop("SIGTERM", 5000)));
  await ctx?.close();
});

/** A worker process with only its environment, as on a machine without the web server. */
function startWorker(name: string, env: Record<string, string>): Child {
  const child = startChild(name, process.execPath, ["--import", "tsx", "workers/generate.ts"], {
    env: {
      NODE_ENV: "production",
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: ctx.databaseUrl,
      REDIS_URL: ctx.redisUrl,
      REDIS_PREFIX: ctx.redisPrefix,
      DATA_DIR: ctx.dataDir,
      MODELS_DIR: ctx.modelsDir,
      EXECUTION_PROVIDERS: "cpu",
      ...env,
    },
    onLine: (line) => lines.push(`[${name}] ${line}`),
  });
  children.push(child);
  return child;
}

const workerOf = async (memoryGiB: number): Promise<WorkerInfo | undefined> =>
  (await listWorkers(ctx.redis, ctx.redisPrefix)).find((w) => w.memory.totalBytes === memoryGiB * 2 ** 30);

describe("routing by capability, real worker processes", () => {
  it("a job that fits only the larger worker waits, says why, and runs there", async () => {
    const [tiny] = (await loadModels(ctx.modelsDir)).filter((m) => m.name === TINY_T2V);
    const request = tinyRequest();
    const jobClass = jobClassOf(tiny, "t2v", { width: 160, height: 96, frames: 9, guidance: 5 });
    const small = jobClass.memoryGiB / 2;
    const large = jobClass.memoryGiB * 2;

    const job = await createJob(ctx, request);
    const waiting = (await getQueueState(ctx)).jobs.find((j) => j.id === job.id);
    expect(waiting).toMatchObject({ queue: classQueueName(jobClass), waitingFor: "no worker is running; the job waits until one starts" });

    startWorker("small", { WORKER_MEMORY_GB: String(small) });
    const smallInfo = await waitFor("the small worker to register", () => workerOf(small), 60_000, 200);
    expect(smallInfo).toMatchObject({ state: "ready", models: expect.arrayContaining([TINY_T2V]), queues: [], memory: { source: "override" } });
    expect((await getQueueState(ctx)).jobs.find((j) => j.id === job.id)?.waitingFor).toBe(
      `needs up to ${jobClass.memoryGiB} GiB; the largest worker with model ${TINY_T2V} advertises ${small} GiB`,
    );

    startWorker("large", { WORKER_MEMORY_GB: String(large) });
    const largeInfo = await waitFor("the large worker to register", () => workerOf(large), 60_000, 200);
    const done = await waitFor("the job to succeed", async () => {
      const row = await ctx.db.job.findUniqueOrThrow({ where: { id: job.id } });
      return row.status === "succeeded" || row.status === "failed" ? row : undefined;
    }, 120_000, 200);
    expect(done).toMatchObject({ status: "succeeded", workerId: largeInfo.id, attempts: 1 });
    // The large worker consumes the class, and now has the model loaded; the small one never took it.
    const after = await waitFor("the large worker's heartbeat after the job", async () => {
      const w = await workerOf(large);
      return w?.model === TINY_T2V ? w : undefined;
    }, 30_000, 200);
    expect(after.queues).toContain(classQueueName(jobClass));
    expect((await workerOf(small))?.queues).toEqual([]);
    expect(lines.filter((l) => l.includes(job.id)).map((l) => l.split(" ")[0])).toEqual(["[large]", "[large]"]);
  });

  it("a worker whose DATA_DIR is not the studio's storage root refuses to start, naming both", async () => {
    const elsewhere = tempDir("routing-elsewhere");
    try {
      const child = startWorker("elsewhere", { DATA_DIR: elsewhere });
      expect(await child.exited).toBe(1);
      const said = lines.filter((l) => l.startsWith("[elsewhere]")).join("\n");
      expect(said).toContain(`storage root ${elsewhere}`);
      expect(said).toContain(`has no ${STORAGE_MARKER_FILE}, but the studio's storage root is ${ctx.storage.root}`);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
