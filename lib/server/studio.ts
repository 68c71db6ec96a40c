/**
 * The web server process's shared services: one database client, one Redis connection, one producer
 * for the class queues and one event subscription for all requests (kept on globalThis so Next's dev reloads reuse
 * them instead of opening new connections).
 */
import "server-only";
import { config } from "../config.ts";
import { db } from "../db/client.ts";
import { databaseProvider } from "../db/provider.ts";
import type { JobsContext } from "../jobs/context.ts";
import { createEventHub, type EventHub } from "../queue/event-hub.ts";
import { createGenerateQueue } from "../queue/generate-queue.ts";
import { redis } from "../redis/connection.ts";
import { checkStorageRoot } from "../storage/marker.ts";
import { createStorage } from "../storage/storage.ts";

export type Studio = JobsContext & { hub: EventHub };

const globalForStudio = globalThis as unknown as { studio?: Studio };

export function studio(): Studio {
  if (!globalForStudio.studio) {
    const cfg = config();
    const log = (line: string) => console.log(`[api] ${line}`);
    globalForStudio.studio = {
      db: db(),
      provider: databaseProvider(cfg.databaseUrl),
      redis: redis(),
      redisPrefix: cfg.redisPrefix,
      queue: createGenerateQueue(redis(), cfg.redisPrefix),
      storage: createStorage(cfg.dataDir),
      modelsDir: cfg.modelsDir,
      log,
      acceptsJobWebhooks: Boolean(cfg.webhookSecret),
      hub: createEventHub(redis(), cfg.redisPrefix, log),
    };
    // The storage marker (lib/storage/marker.ts): written on the studio's first start, checked after;
    // /api/health reports a mismatch, and a worker on another root refuses to start.
    checkStorageRoot(redis(), cfg.redisPrefix, cfg.dataDir).catch((e) => log(`storage check: ${(e as Error).message}`));
  }
  return globalForStudio.studio;
}
