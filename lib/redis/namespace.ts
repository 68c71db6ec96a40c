/**
 * Every name the studio gives a Redis key or channel starts with its prefix (REDIS_PREFIX, by default one
 * per data folder), so that studios sharing one Redis server never read each other's queue or events.
 * BullMQ gets the same prefix through its `prefix` option and adds the queue name after it.
 */
export function redisName(prefix: string, ...parts: string[]): string {
  return [prefix, ...parts].join(":");
}
