/**
 * Redis connections shared inside one process. BullMQ needs `maxRetriesPerRequest: null` on connections
 * that block (workers, queue events); plain commands use the same settings for simplicity.
 */
import { Redis } from "ioredis";
import { config } from "../config.ts";

const globalForRedis = globalThis as unknown as { studioRedis?: Redis };

export function createRedis(url: string, name = "studio"): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
  // Connection errors surface through the commands that fail; without a listener ioredis logs each retry.
  client.on("error", () => {});
  return client;
}

/** The process-wide Redis client for non-blocking commands. */
export function redis(): Redis {
  globalForRedis.studioRedis ??= createRedis(config().redisUrl);
  return globalForRedis.studioRedis;
}
