/**
 * Graceful drain of the studio's own worker processes (workers/generate.ts) on the test Redis and a SQLite
 * job history, running the real engine on the tiny model: the first SIGTERM lets the running job finish,
 * announces the worker as "draining", takes no further job and exits 0; a second SIGTERM leaves at once
 * without failing the job, which another worker then takes over. (The same over separate network
 * namespaces and PostgreSQL: tests/hosts/hosts.test.ts.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createJob } from "../../lib/jobs/create.ts";
import { subscribeEvents, type StudioEvent } from "../../lib/queue/events.ts";
import { listWorkers } from "../../lib/queue/worker-registry.ts";
import type { Child } from "../../lib/supervisor.ts";
import { createTestJobsContext, tinyRequest, waitFor, waitForStatus, startWorkerProcess, type TestJobsContext } from "../helpers/jobs-context.ts";

/** Short locks, so a job left by a worker is taken over within seconds. */
const LOCK_MS = 2000;
/** A job that runs for several seconds on this machine. */
const LONG = { frames: 33, steps: 40 } as const;

let ctx: TestJobsContext;
const events: StudioEvent[] = [];
let stopEvents: () => Promise<void>;
const children: Child[] = [];

beforeAll(async () => {
  ctx = await createTestJobsContext({ redisUrl: inject("redisUrl"), redisDb: 8, prefix: "jobs-drain", model: "tiny" });
  stopEvents = await subscribeEvents(ctx.redis, ctx.redisPrefix, (e) => events.push(e));
});
afterEach(async () => {
  while (children.length) await children.pop()!.stop("SIGKILL");
});
afterAll(async () => {
  await stopEvents?.();
  await ctx?.close();
});

type WorkerProcess = { child: Child; lines: string[]; id: string };

async function startReadyWorker(name: string): Promise<WorkerProcess> {
  const lines: string[] = [];
  const child = startWorkerProcess(ctx, name, lines, { STUDIO_LOCK_MS: String(LOCK_MS) });
  children.push(child);
  const ready = await waitFor(`${name} to be ready`, () => lines.find((l) => /^worker \S+ ready/.test(l)), 90_000, 100);
  return { child, lines, id: ready.split(" ")[1] };
}

/** SIGTERM to the worker process only (as docker stop does), not to its ffmpeg. */
const sigterm = (w: WorkerProcess) => process.kill(w.child.process.pid!, "SIGTERM");

const denoiseStep = (id: string, n: number) => () =>
  events.some((e) => e.jobId === id && e.type === "progress" && e.phase === "denoise" && e.step >= n) ? true : undefined;

describe("graceful drain of a worker process", () => {
  it("SIGTERM mid-job: the job succeeds, the worker shows as draining, takes no further job and exits 0; a second worker takes the rest", async () => {
    const a = await startReadyWorker("draining-worker");
    const running = await createJob(ctx, tinyRequest({ ...LONG, prompt: "the running one" }));
    await waitFor("denoise step 2", denoiseStep(running.id, 2), 90_000);
    const waiting = [await createJob(ctx, tinyRequest({ prompt: "after the drain 1" })), await createJob(ctx, tinyRequest({ prompt: "after the drain 2" }))];

    sigterm(a);
    await waitFor("the worker to be listed as draining", async () => {
      const listed = (await listWorkers(ctx.redis, ctx.redisPrefix)).find((w) => w.id === a.id);
      return listed?.state === "draining" ? true : undefined;
    }, 30_000);
    expect(await a.child.exited).toBe(0);

    expect(await ctx.db.job.findUniqueOrThrow({ where: { id: running.id } })).toMatchObject({ status: "succeeded", attempts: 1, workerId: a.id });
    for (const job of waiting) expect(await ctx.db.job.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ status: "queued", attempts: 0 });
    expect(a.lines.filter((l) => /^job \S+: succeeded/.test(l))).toHaveLength(1);
    expect(a.lines.some((l) => l.includes("draining: finishing 1 running job(s)"))).toBe(true);
    // It left the registry on its way out.
    expect((await listWorkers(ctx.redis, ctx.redisPrefix)).map((w) => w.id)).not.toContain(a.id);

    const b = await startReadyWorker("second-worker");
    for (const job of waiting) expect(await waitForStatus(ctx, job.id, "succeeded")).toMatchObject({ attempts: 1, workerId: b.id });
  });

  it("a second SIGTERM leaves at once without failing the job; another worker takes it over", async () => {
    const a = await startReadyWorker("leaving-worker");
    const job = await createJob(ctx, tinyRequest({ ...LONG, prompt: "left mid-job" }));
    await waitFor("denoise step 2", denoiseStep(job.id, 2), 90_000);
    sigterm(a);
    await waitFor("the drain to begin", () => (a.lines.some((l) => l.includes("draining")) ? true : undefined), 30_000);
    sigterm(a);
    expect(await a.child.exited).toBe(0);
    expect(a.lines.some((l) => l.includes("leaving") && l.includes("1 running job(s)"))).toBe(true);
    // Nothing was recorded: the job is still this attempt's, for the next worker to take over.
    expect(await ctx.db.job.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ status: "running", attempts: 1, workerId: a.id });

    const b = await startReadyWorker("taking-over-worker");
    expect(await waitForStatus(ctx, job.id, "succeeded")).toMatchObject({ attempts: 2, workerId: b.id });
  });
});
