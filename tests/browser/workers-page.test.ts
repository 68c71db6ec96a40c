/**
 * Routing as the user sees it, in a real browser against a real studio: a worker that advertises too little
 * memory for the tiny model's jobs (WORKER_MEMORY_GB), so a new job waits and the queue panel and the job
 * page say why; the Workers page lists that worker; a second worker with enough memory joins, the note goes
 * and the job runs there, and the Workers page shows both, the second with the model loaded; that worker,
 * sent SIGTERM while it runs a job, shows a "draining" badge and what it means until it has finished.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobJson } from "../../lib/jobs/schemas.ts";
import type { WorkerView } from "../../lib/ui/api-types.ts";
import { call } from "../api/helpers.ts";
import { waitFor } from "../helpers/jobs-context.ts";
import { NO_OVERFLOW, screenshots } from "./browser.ts";
import { startUiStudio, type UiStudio } from "./ui-studio.ts";

let studio: UiStudio;
let page: Page;
let job: JobJson;

beforeAll(async () => {
  studio = await startUiStudio("workers", { redisDb: 8, worker: true, env: { WORKER_MEMORY_GB: "0.25" } });
  job = await studio.createJob({ prompt: "a paper boat on a puddle" });
  page = await studio.browser.newPage();
});
afterAll(async () => {
  await studio?.stop();
});

const TOO_SMALL = /needs up to \d+ GiB; the largest worker with model wan-tiny advertises 0\.25 GiB/;

describe("routing in the UI", () => {
  it("a job no worker can run says why in the queue panel and on its page", async () => {
    await page.goto(studio.url);
    const note = page.locator(`[data-testid="queue-panel"] [data-job-id="${job.id}"] .queue-waiting-for`);
    await expect.poll(() => note.textContent(), { timeout: 20_000 }).toMatch(TOO_SMALL);
    await page.goto(`${studio.url}/jobs/${job.id}`);
    await expect.poll(() => page.getByTestId("job-waiting-for").textContent(), { timeout: 20_000 }).toMatch(/^No worker can run this yet: needs up to/);
    expect((await studio.getJob(job.id)).body.status).toBe("queued");
  });

  it("the Workers page lists the live worker with its memory, state and classes", async () => {
    await page.goto(`${studio.url}/workers`);
    const item = page.locator('[data-testid="workers-panel"] .worker-item');
    await expect.poll(() => item.count()).toBe(1);
    expect(await item.getAttribute("data-state")).toBe("ready");
    const text = await item.textContent();
    expect(text).toContain("256 MB (override)");
    expect(text).toContain("none yet");
    expect(text).toContain("no job class yet");
    // The same through /api/health, with the storage root's marker checked by the web server.
    const health = (await call<{ status: string; storage: { ok: boolean; id?: string }; workers: WorkerView[] }>(studio.url, "/api/health")).body;
    expect(health).toMatchObject({ status: "ok", storage: { ok: true, id: expect.any(String) } });
    expect(health.workers.map((w) => [w.state, w.memory.source, w.storageId])).toEqual([["ready", "override", health.storage.id]]);
  });

  it("a worker with enough memory joins: the job runs there and the page shows both workers", async () => {
    await studio.processes.startWorker({ WORKER_MEMORY_GB: "2" });
    await studio.waitForJob(job.id, (j) => j.status === "succeeded", 120_000);
    const items = page.locator('[data-testid="workers-panel"] .worker-item');
    await expect.poll(() => items.count(), { timeout: 15_000 }).toBe(2);
    const large = page.locator('[data-testid="workers-panel"] .worker-item', { hasText: "2 GB (override)" });
    await expect.poll(() => large.textContent(), { timeout: 15_000 }).toMatch(/Loaded modelwan-tiny/);
    expect(await large.locator(".worker-queues").textContent()).toMatch(/^generate\.wan-tiny\.t2v\.\d+g$/);
    expect(await screenshots(page, "workers")).toEqual(NO_OVERFLOW);
  });

  it("a worker sent SIGTERM while it runs a job shows as draining until the job is done", async () => {
    // The tiny model's longest job, so it is still running while the page shows the drain.
    const long = await studio.createJob({ prompt: "a long drain", frames: 33, steps: 100 });
    await studio.waitForJob(long.id, (j) => j.status === "running", 60_000);
    const large = studio.processes.workers[1];
    process.kill(large.process.pid!, "SIGTERM");
    await waitFor("the worker to be listed as draining", async () => {
      const { workers } = (await call<{ workers: WorkerView[] }>(studio.url, "/api/workers")).body;
      return workers.some((w) => w.state === "draining") ? true : undefined;
    }, 20_000, 100);
    await page.goto(`${studio.url}/workers`);
    const draining = page.locator('[data-testid="workers-panel"] .worker-item[data-state="draining"]');
    await expect.poll(() => draining.count(), { timeout: 15_000 }).toBe(1);
    expect(await draining.locator(".worker-state").textContent()).toBe("draining");
    expect(await draining.locator(".worker-state-note").textContent()).toMatch(/finishes the job it is running, takes no new one/);
    expect(await draining.textContent()).toMatch(/busy 1\/1/);
    // The other worker stays ready, with no note.
    const ready = page.locator('[data-testid="workers-panel"] .worker-item[data-state="ready"]');
    expect(await ready.locator(".worker-state-note").count()).toBe(0);

    expect(await large.exited).toBe(0);
    expect((await studio.getJob(long.id)).body.status).toBe("succeeded");
    await expect.poll(() => draining.count(), { timeout: 15_000 }).toBe(0);
  });
});
