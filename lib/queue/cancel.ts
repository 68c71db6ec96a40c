/**
 * Cancelling a running job across processes: the API publishes the job id on one Redis channel, and
 * every worker process listens and aborts the job if it is running it. (BullMQ's own cancelJob only
 * reaches jobs inside the calling process.)
 */
import type { Redis } from "ioredis";
import { redisName } from "../redis/namespace.ts";
import { subscribeChannel } from "../redis/subscribe.ts";
import { isValidId } from "../storage/ids.ts";

const cancelChannel = (prefix: string) => redisName(prefix, "cancel");

export async function publishCancel(redis: Redis, prefix: string, jobId: string): Promise<void> {
  await redis.publish(cancelChannel(prefix), JSON.stringify({ jobId }));
}

/** Calls `onCancel` with every job id published on the studio's cancel channel. */
export function subscribeCancel(redis: Redis, prefix: string, onCancel: (jobId: string) => void): Promise<() => Promise<void>> {
  return subscribeChannel(redis, cancelChannel(prefix), (message) => {
    try {
      const { jobId } = JSON.parse(message) as { jobId?: unknown };
      if (isValidId(jobId)) onCancel(jobId);
    } catch {
      // not ours
    }
  });
}
