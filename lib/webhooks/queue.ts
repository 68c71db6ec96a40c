/**
 * The webhook queue: one BullMQ job per job end (its id is `<job id>-<status>`, so an end announced twice
 * is told once), retried with exponential backoff by BullMQ until the receiver answers 2xx. The
 * generation workers consume it (lib/webhooks/worker.ts); which URLs are called is decided there, from
 * the job's row and the configuration, never from the queue job's data.
 */
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { EndStatus } from "../schemas/job-vocabulary.ts";

export const WEBHOOK_QUEUE = "webhooks";
export const WEBHOOK_JOB = "deliver";

export type WebhookJobData = { jobId: string; event: EndStatus };

export const WEBHOOK_JOB_OPTIONS = {
  // 1 + 2 + 4 + … s between tries: a receiver that is down for a minute still gets the call.
  attempts: 7,
  backoff: { type: "exponential", delay: 1000 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
} as const;

export type WebhookQueue = Queue<WebhookJobData>;

/** `prefix`: the studio's Redis namespace (REDIS_PREFIX), as for the generation queue. */
export function createWebhookQueue(connection: Redis, prefix: string): WebhookQueue {
  return new Queue<WebhookJobData>(WEBHOOK_QUEUE, { connection, prefix });
}

/** One producer per connection and namespace: publishEvent is called with the connection its caller already has. */
const producers = new WeakMap<Redis, Map<string, WebhookQueue>>();

export async function enqueueWebhook(redis: Redis, prefix: string, jobId: string, event: EndStatus): Promise<void> {
  const byPrefix = producers.get(redis) ?? new Map<string, WebhookQueue>();
  producers.set(redis, byPrefix);
  let queue = byPrefix.get(prefix);
  if (!queue) {
    queue = createWebhookQueue(redis, prefix);
    byPrefix.set(prefix, queue);
  }
  await queue.add(WEBHOOK_JOB, { jobId, event }, { ...WEBHOOK_JOB_OPTIONS, jobId: `${jobId}-${event}` });
}
