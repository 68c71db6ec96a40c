/**
 * The studio's health: can it reach its database and Redis, is its storage root the one the studio's
 * workers write to (lib/storage/marker.ts), and which workers are alive (with the execution providers,
 * memory, models and capability classes they run).
 */
import "server-only";
import { config } from "../config.ts";
import { withoutServerPaths } from "../errors.ts";
import { db } from "../db/client.ts";
import { redis } from "../redis/connection.ts";
import { listWorkers, type WorkerInfo } from "../queue/worker-registry.ts";
import { studio } from "../server/studio.ts";
import { checkStorageRoot } from "../storage/marker.ts";

export type Health = {
  status: "ok" | "degraded";
  database: { ok: boolean; provider: "sqlite" | "postgresql"; error?: string };
  redis: { ok: boolean; error?: string };
  /** The storage root's marker id (the same on every host of the studio), or why it does not match. */
  storage: { ok: boolean; id?: string; error?: string };
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
  const storage: Health["storage"] = { ok: false };
  try {
    await withTimeout(redis().ping(), 3000, "Redis");
    r.ok = true;
    workers = await withTimeout(listWorkers(redis(), config().redisPrefix), 3000, "Redis");
    try {
      storage.id = await withTimeout(checkStorageRoot(redis(), cfg.redisPrefix, studio().storage.root), 3000, "the storage check");
      storage.ok = true;
    } catch (e) {
      // The worker's own log names both folders; the answer names the hosts and ids.
      storage.error = withoutServerPaths((e as Error).message);
    }
  } catch (e) {
    r.error = withoutServerPaths((e as Error).message.split("\n")[0]);
  }
  return { status: database.ok && r.ok && storage.ok ? "ok" : "degraded", database, redis: r, storage, workers };
}
