/**
 * The studio on PostgreSQL: the committed migrations applied to a throwaway database on the local server
 * (created and dropped by this test), then the jobs service through the generated PostgreSQL client.
 * Skipped, saying so, when no PostgreSQL answers at $POSTGRES_TEST_URL (default
 * postgresql://postgres@127.0.0.1:5432/test).
 */
import path from "node:path";
import { rmSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb, type Db } from "../../lib/db/client.ts";
import { migrateDatabase } from "../../lib/db/migrate.ts";
import { migrationNames, migratePostgres } from "../../lib/db/migrate-postgres.ts";
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA } from "../../lib/db/schemas.ts";
import { cancelJob, deleteJob, retryJob } from "../../lib/jobs/actions.ts";
import type { JobsContext } from "../../lib/jobs/context.ts";
import { createJob } from "../../lib/jobs/create.ts";
import { listJobs } from "../../lib/jobs/list.ts";
import { createGenerateQueue } from "../../lib/queue/generate-queue.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { createStorage } from "../../lib/storage/storage.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { redisDbUrl, tinyRequest } from "../helpers/jobs-context.ts";
import { writeTestModel } from "../helpers/models.ts";
import { migrationFromSchema } from "../helpers/prisma.ts";

const serverUrl = process.env.POSTGRES_TEST_URL ?? "postgresql://postgres@127.0.0.1:5432/test";

async function postgresAnswers(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

const unavailable = await postgresAnswers();
if (unavailable) {
  console.warn(`SKIPPING the PostgreSQL tests: no PostgreSQL answers at ${serverUrl} (${unavailable}). Set POSTGRES_TEST_URL to run them.`);
}

const database = `studio_test_${process.pid}_${Date.now()}`;
const databaseUrl = (() => {
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  return u.toString();
})();

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function onDatabase<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Tables, columns, indexes and constraints of the public schema, apart from Prisma's bookkeeping. */
async function databaseShape(c: pg.Client): Promise<unknown> {
  const rows = async (sql: string) => (await c.query(sql)).rows;
  return {
    columns: await rows(
      `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY table_name, column_name`,
    ),
    indexes: await rows(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY indexname`),
    constraints: await rows(
      `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
       WHERE connamespace = 'public'::regnamespace AND conname NOT LIKE '_prisma_migrations%' ORDER BY conname`,
    ),
  };
}

describe.skipIf(Boolean(unavailable))(`PostgreSQL (${serverUrl})`, () => {
  let ctx: JobsContext;
  let db: Db;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = tempDir("studio-pg");
    await admin((c) => c.query(`CREATE DATABASE "${database}"`));
    const redis = createRedis(redisDbUrl(inject("redisUrl"), 10), "pg-test");
    await redis.flushdb();
    const modelsDir = path.join(dataDir, "models");
    await writeTestModel(modelsDir);
    db = createDb(databaseUrl);
    const redisPrefix = "pg-test";
    ctx = { db, provider: "postgresql", redis, redisPrefix, queue: createGenerateQueue(redis, redisPrefix), storage: createStorage(dataDir), modelsDir, log: () => {} };
  });
  afterAll(async () => {
    await ctx?.queue.close();
    ctx?.redis.disconnect();
    await db?.$disconnect();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("its migrations, applied in order, build what Prisma generates from the PostgreSQL schema", async () => {
    const reference = `${database}_reference`;
    const referenceUrl = databaseUrl.replace(database, reference);
    await admin((c) => c.query(`CREATE DATABASE "${reference}"`));
    try {
      await onDatabase(referenceUrl, (c) => c.query(migrationFromSchema(POSTGRES_SCHEMA, serverUrl)));
      await migrateDatabase({ ...process.env, DATABASE_URL: databaseUrl });
      expect(await onDatabase(databaseUrl, databaseShape)).toEqual(await onDatabase(referenceUrl, databaseShape));
    } finally {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${reference}" WITH (FORCE)`));
    }
  });

  it("applies the committed migrations once, recorded like Prisma Migrate does", async () => {
    await migrateDatabase({ ...process.env, DATABASE_URL: databaseUrl });
    const again = await migratePostgres(databaseUrl, POSTGRES_MIGRATIONS);
    expect(again).toEqual({ applied: [], alreadyApplied: migrationNames(POSTGRES_MIGRATIONS) });
    const tables = await admin(async () => {
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      try {
        const t = await c.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
        const m = await c.query<{ migration_name: string; checksum: string; finished_at: Date | null }>('SELECT migration_name, checksum, finished_at FROM "_prisma_migrations"');
        return { names: t.rows.map((r) => r.table_name), migrations: m.rows };
      } finally {
        await c.end();
      }
    });
    expect(tables.names).toEqual(["Job", "Upload", "WebhookDelivery", "_prisma_migrations"]);
    expect(tables.migrations.map((m) => m.migration_name).sort()).toEqual(migrationNames(POSTGRES_MIGRATIONS));
    for (const m of tables.migrations) {
      expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(m.finished_at).not.toBeNull();
    }
  });

  it("runs the jobs service: create, search (case-insensitive), paginate, cancel, retry, delete", async () => {
    const a = await createJob(ctx, tinyRequest({ prompt: "Postgres Cat", seed: 2 ** 40 }));
    await new Promise((r) => setTimeout(r, 5));
    const b = await createJob(ctx, tinyRequest({ prompt: "postgres dog 100%" }));
    await new Promise((r) => setTimeout(r, 5));
    const c = await createJob(ctx, tinyRequest({ prompt: "other" }));
    expect(a.seed).toBe(2 ** 40);
    expect((await listJobs(ctx, { q: "POSTGRES" })).jobs.map((j) => j.id)).toEqual([b.id, a.id]);
    expect((await listJobs(ctx, { q: "0%" })).jobs.map((j) => j.id)).toEqual([b.id]);
    const first = await listJobs(ctx, { limit: "2" });
    expect(first.jobs.map((j) => j.id)).toEqual([c.id, b.id]);
    expect((await listJobs(ctx, { limit: "2", cursor: first.nextCursor! })).jobs.map((j) => j.id)).toEqual([a.id]);
    expect((await cancelJob(ctx, a.id)).status).toBe("canceled");
    const again = await retryJob(ctx, a.id);
    expect(again).toMatchObject({ retryOfId: a.id, seed: 2 ** 40 });
    await deleteJob(ctx, c.id);
    expect((await listJobs(ctx, {})).jobs.map((j) => j.id)).toEqual([again.id, b.id, a.id]);
  });
});
