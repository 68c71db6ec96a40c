/**
 * The queue-control and webhook API's shapes, as zod schemas: the route handlers parse requests with
 * them and /api/openapi.json is generated from them.
 */
import { z } from "zod";
import { END_STATUSES, JOB_PRIORITIES } from "../schemas/job-vocabulary.ts";

const priority = z.enum(JOB_PRIORITIES, { error: `priority must be one of ${JOB_PRIORITIES.join(", ")}` });

export const priorityRequestSchema = z.strictObject({ priority });

export const MOVE_DIRECTIONS = ["up", "down"] as const;
export const moveRequestSchema = z.strictObject({
  direction: z.enum(MOVE_DIRECTIONS, { error: `direction must be one of ${MOVE_DIRECTIONS.join(", ")}` }),
});

export const queueStateSchema = z.object({
  /** True while workers take no new job (running ones finish). */
  paused: z.boolean(),
  /** The waiting jobs, band by band; within a band each capability class in the order its workers take them. */
  jobs: z.array(
    z.object({
      id: z.string(),
      priority: z.enum(JOB_PRIORITIES),
      /** The capability class queue it waits in ("generate.<model>.<kind>.<GiB>g"); order is kept per class. */
      queue: z.string(),
      /** Why no live worker can run it, e.g. "no worker has model X"; null when one can. It stays queued. */
      waitingFor: z.string().nullable(),
    }),
  ),
});

export const webhookDeliverySchema = z.object({
  id: z.string(),
  event: z.enum(END_STATUSES),
  /** The job's own URL, or the global WEBHOOK_URL. */
  target: z.enum(["job", "global"]),
  /** Scheme, host and port of the URL called. */
  origin: z.string(),
  /** 1 for the first try; BullMQ retries with exponential backoff. */
  attempt: z.number().int(),
  /** The receiver's answer; null when none came. */
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int(),
  at: z.string(),
});
export const webhookDeliveriesSchema = z.object({ deliveries: z.array(webhookDeliverySchema) });
export type WebhookDeliveryJson = z.infer<typeof webhookDeliverySchema>;
