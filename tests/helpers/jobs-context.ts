/**
 * A jobs service on real services for tests: a fresh SQLite file migrated with the committed migrations,
 * a Redis database of its own on the test Redis (emptied first), a temporary DATA_DIR and a models folder
 * with the tiny model: the real one (graphs and all) for tests that run jobs, or only its manifest for
 * tests that never load a model.
 */
import { rmSync } from "node:fs";
import path from "node:path";
import { defaultRedisPrefix } from "../../lib/config.ts";
import { createDb } from "../../lib/db/client.ts";
import { migrateDatabase } from "../../lib/db/migrate.ts";
import type { JobsContext } from "../../lib/jobs/context.ts";
import { createGenerateQueue } from "../../lib/queue/generate-queue.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { createStorage } from "../../lib/storage/storage.ts";
import { startChild, type Child } from "../../lib/supervisor.ts";
import { tempDir } from "./fixtures.ts";
import { installTinyModel, writeTestModel } from "./models.ts";

/** The same Redis server, another logical database (0–15): test files cannot see each other's queues. */
export function redisDbUrl(base: string, db: number): string {
  const url = new URL(base);
  url.pathname = `/${db}`;
  return url.toString();
}

export type TestJobsContext = JobsContext & {
  dataDir: string;
  databaseUrl: string;
  redisUrl: string;
  close(): Promise<void>;
};

export async function createTestJobsContext(opts: {
  redisUrl: string;
  redisDb: number;
  prefix?: string;
  /** "tiny": the real tiny model, for tests that run jobs; "manifest" (default): a manifest only. */
  model?: "tiny" | "manifest";
}): Promise<TestJobsContext> {
  const dataDir = tempDir(opts.prefix ?? "studio-jobs");
  const databaseUrl = `file:${path.join(dataDir, "studio.db")}`;
  await migrateDatabase({ ...process.env, DATABASE_URL: databaseUrl });
  const modelsDir = path.join(dataDir, "models");
  if (opts.model === "tiny") await installTinyModel(modelsDir);
  else await writeTestModel(modelsDir);
  const redisUrl = redisDbUrl(opts.redisUrl, opts.redisDb);
  const redis = createRedis(redisUrl, "test");
  await redis.flushdb();
  // The namespace the studio itself would use for this data folder.
  const redisPrefix = defaultRedisPrefix(dataDir);
  const queue = createGenerateQueue(redis, redisPrefix);
  const db = createDb(databaseUrl);
  return {
    db,
    provider: "sqlite",
    redis,
    redisPrefix,
    queue,
    storage: createStorage(dataDir),
    modelsDir,
    log: () => {},
    dataDir,
    databaseUrl,
    redisUrl,
    async close() {
      await queue.close().catch(() => {});
      await db.$disconnect().catch(() => {});
      redis.disconnect();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A valid t2v request for the tiny model, with overrides. */
export function tinyRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { prompt: "a red fox running through snow", width: 160, height: 96, frames: 9, steps: 8, guidance: 5, shift: 5, solver: "unipc", ...overrides };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`);
}

/**
 * A real `workers/generate.ts` process on this context's Redis, database and DATA_DIR, on the CPU; `env` adds to
 * (or overrides) that environment, and each output line goes to `lines`.
 */
export function startWorkerProcess(ctx: TestJobsContext, name: string, lines: string[], env: Record<string, string> = {}): Child {
  return startChild(name, process.execPath, ["--import", "tsx", "workers/generate.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: ctx.databaseUrl,
      REDIS_URL: ctx.redisUrl,
      DATA_DIR: ctx.dataDir,
      EXECUTION_PROVIDERS: "cpu",
      HOST: "127.0.0.1",
      ...env,
    },
    onLine: (line) => lines.push(line),
  });
}

/** Waits until the job's row has this status, and returns the row. */
export async function waitForStatus(ctx: TestJobsContext, id: string, status: string, timeoutMs = 90_000) {
  return await waitFor(`job ${id} to be ${status}`, async () => {
    const row = await ctx.db.job.findUniqueOrThrow({ where: { id } });
    return row.status === status ? row : undefined;
  }, timeoutMs, 100);
}
