/**
 * Listening on one Redis pub/sub channel. A subscribed connection can do nothing else, so each
 * subscription has a connection of its own; resolves once the subscription is active, with the
 * function that ends it.
 */
import type { Redis } from "ioredis";

export async function subscribeChannel(
  redis: Redis,
  channel: string,
  onMessage: (message: string) => void,
): Promise<() => Promise<void>> {
  const subscriber = redis.duplicate();
  subscriber.on("error", () => {});
  subscriber.on("message", (from: string, message: string) => {
    if (from === channel) onMessage(message);
  });
  await subscriber.subscribe(channel);
  return async () => {
    await subscriber.quit().catch(() => subscriber.disconnect());
  };
}
