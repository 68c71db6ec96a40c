/**
 * Cancelling a running job across processes: the API publishes the job id on one Redis channel, and
 * every worker process listens and aborts the job if it is running it. (BullMQ's own cancelJob only
 * reaches jobs inside the calling process.)
 */
import type { Redis } from "ioredis";
import { isValidId } from "../storage/ids.ts";

export const CANCEL_CHANNEL = "studio:cancel";

export async function publishCancel(redis: Redis, jobId: string): Promise<void> {
  await redis.publish(CANCEL_CHANNEL, JSON.stringify({ jobId }));
}

/**
 * Listens on a connection of its own (a subscribed connection can do nothing else); resolves once the
 * subscription is active and returns the function that ends it.
 */
export async function subscribeCancel(redis: Redis, onCancel: (jobId: string) => void): Promise<() => Promise<void>> {
  const subscriber = redis.duplicate();
  subscriber.on("error", () => {});
  subscriber.on("message", (channel: string, message: string) => {
    if (channel !== CANCEL_CHANNEL) return;
    try {
      const { jobId } = JSON.parse(message) as { jobId?: unknown };
      if (isValidId(jobId)) onCancel(jobId);
    } catch {
      // not ours
    }
  });
  await subscriber.subscribe(CANCEL_CHANNEL);
  return async () => {
    await subscriber.quit().catch(() => subscriber.disconnect());
  };
}
