/**
 * The studio's health: can it reach its database and Redis, and which workers are alive (with the
 * execution providers they run on).
 */
import "server-only";
import { config } from "../config.ts";
import { withoutServerPaths } from "../errors.ts";
import { db } from "../db/client.ts";
import { redis } from "../redis/connection.ts";
import { listWorkers, type WorkerInfo } from "../queue/worker-registry.ts";

export type Health = {
  status: "ok" | "degraded";
  database: { ok: boolean; provider: "sqlite" | "postgresql"; error?: string };
  redis: { ok: boolean; error?: string };
  workers: WorkerInfo[];
};

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(): Promise<Health> {
  const cfg = config();
  const database: Health["database"] = { ok: false, provider: cfg.databaseProvider };
  try {
    await withTimeout(db().$queryRawUnsafe("SELECT 1"), 3000, "the database");
    database.ok = true;
  } catch (e) {
    database.error = withoutServerPaths((e as Error).message.split("\n")[0]);
  }
  const r: Health["redis"] = { ok: false };
  let workers: WorkerInfo[] = [];
  try {
    await withTimeout(redis().ping(), 3000, "Redis");
    r.ok = true;
    workers = await withTimeout(listWorkers(redis(), config().redisPrefix), 3000, "Redis");
  } catch (e) {
    r.error = withoutServerPaths((e as Error).message.split("\n")[0]);
  }
  return { status: database.ok && r.ok ? "ok" : "degraded", database, redis: r, workers };
}
