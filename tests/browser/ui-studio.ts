/**
 * One real studio per browser test file: the built app under `next start` (tests/helpers/studio.ts) on a
 * temporary DATA_DIR with the real tiny model installed (and, when asked, the tiny image-to-video model and
 * a broken install whose jobs fail at model load), its own Redis database, optionally a real worker
 * process (workers/generate.ts, the engine), and a fresh Chromium. Plus the few API calls the tests use
 * to arrange and check state behind the pages' backs.
 */
import { rmSync } from "node:fs";
import path from "node:path";
import { inject } from "vitest";
import type { JobJson } from "../../lib/jobs/schemas.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { call } from "../api/helpers.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { redisDbUrl, tinyRequest, waitFor } from "../helpers/jobs-context.ts";
import { BROKEN_MODEL, installTinyModel, writeTestModel } from "../helpers/models.ts";
import { startStudioProcesses, type StudioProcesses } from "../helpers/studio.ts";
import { openBrowser, type TestBrowser } from "./browser.ts";

export type UiStudio = {
  url: string;
  dataDir: string;
  modelsDir: string;
  processes: StudioProcesses;
  browser: TestBrowser;
  /** POST /api/jobs with the tiny model's valid request plus overrides. */
  createJob(overrides?: Record<string, unknown>): Promise<JobJson>;
  getJob(id: string): Promise<{ status: number; body: JobJson }>;
  listJobs(query?: string): Promise<JobJson[]>;
  /** Waits until the job satisfies `done` (checked through the API). */
  waitForJob(id: string, done: (job: JobJson) => boolean, timeoutMs?: number): Promise<JobJson>;
  stop(): Promise<void>;
};

export async function startUiStudio(
  name: string,
  opts: {
    redisDb: number;
    worker?: boolean;
    /** Also install the tiny image-to-video model (TINY_I2V). */
    i2v?: boolean;
    /** Also install BROKEN_MODEL: a manifest without graphs, so its jobs fail for real in the worker. */
    broken?: boolean;
    env?: Record<string, string>;
  },
): Promise<UiStudio> {
  const dataDir = tempDir(`studio-ui-${name}`);
  const modelsDir = path.join(dataDir, "models");
  await installTinyModel(modelsDir);
  if (opts.i2v) await installTinyModel(modelsDir, { i2v: true });
  if (opts.broken) await writeTestModel(modelsDir, BROKEN_MODEL);
  const redisUrl = redisDbUrl(inject("redisUrl"), opts.redisDb);
  const redis = createRedis(redisUrl, `ui-${name}`);
  await redis.flushdb();
  redis.disconnect();
  const processes = await startStudioProcesses({
    dataDir,
    redisUrl,
    workers: opts.worker ? 1 : 0,
    env: { EXECUTION_PROVIDERS: "cpu", ...opts.env },
  });
  const browser = await openBrowser().catch(async (e) => {
    await processes.stop();
    throw e;
  });
  const url = processes.url;
  const getJob = async (id: string) => {
    const r = await call<JobJson>(url, `/api/jobs/${id}`);
    return { status: r.status, body: r.body };
  };
  return {
    url,
    dataDir,
    modelsDir,
    processes,
    browser,
    async createJob(overrides = {}) {
      const r = await call<JobJson>(url, "/api/jobs", { method: "POST", json: tinyRequest(overrides) });
      if (r.status !== 201) throw new Error(`POST /api/jobs answered ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body;
    },
    getJob,
    async listJobs(query = "") {
      return (await call<{ jobs: JobJson[] }>(url, `/api/jobs${query}`)).body.jobs;
    },
    waitForJob: (id, done, timeoutMs = 60_000) =>
      waitFor(`job ${id}`, async () => {
        const { body } = await getJob(id);
        return done(body) ? body : undefined;
      }, timeoutMs, 100),
    async stop() {
      await browser.close().catch(() => {});
      await processes.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
