/**
 * What happens to jobs, as it happens: one Redis pub/sub channel carries every job's events as JSON
 * `{ type, jobId, at, ...payload }`. Workers and the API publish; each web server process listens once
 * (event-hub.ts) and fans the events out to its Server-Sent-Event clients. Pub/sub is fire-and-forget:
 * a client that was away reads the job's current state from the API, and the SSE streams start with it.
 */
import type { Redis } from "ioredis";
import { z } from "zod";
import { END_STATUSES, EVENT_TYPES, QUEUE_EVENT, type EndStatus, type EventType } from "../schemas/job-vocabulary.ts";
import { redisName } from "../redis/namespace.ts";
import { subscribeChannel } from "../redis/subscribe.ts";
import { ID_PATTERN } from "../storage/ids.ts";
import { enqueueWebhook } from "../webhooks/queue.ts";
import type { QueueState } from "./queue-order.ts";

const eventsChannel = (prefix: string) => redisName(prefix, "events");


export type ProgressPayload = {
  phase: string;
  step: number;
  total: number;
  elapsedS: number;
  etaS: number | null;
  /** The whole job's progress, 0…1 (lib/jobs/progress.ts). */
  progress: number;
};

type Payloads = {
  /** `job` is the new job as the API returns it, so a queue panel can show it without asking. */
  queued: { job: unknown };
  started: { attempt: number; workerId: string };
  progress: ProgressPayload;
  preview: { url: string; step: number };
  succeeded: { videoUrl: string; posterUrl: string; seed: number; timings: Record<string, number> };
  failed: { error: string };
  canceled: Record<never, never>;
  deleted: Record<never, never>;
};

/**
 * `attempt`: the run of the job that published it (worker events), so a client can ignore the
 * stragglers of an attempt that another one has taken over (lib/jobs/fence.ts).
 */
export type StudioEventOf<T extends EventType> = { type: T; jobId: string; at: string; attempt?: number } & Payloads[T];
export type StudioEvent = { [T in EventType]: StudioEventOf<T> }[EventType];
/** An event before publication: `at` is stamped by publishEvent. */
export type StudioEventInput = { [T in EventType]: Omit<StudioEventOf<T>, "at"> }[EventType];

/** The envelope every event has; the payload fields are checked by their producers' types. */
export const studioEventSchema = z.looseObject({
  type: z.enum(EVENT_TYPES),
  jobId: z.string().regex(ID_PATTERN),
  at: z.string(),
});

/** The queue's new state after a pause, resume, move or priority change (not a job's event: no jobId). */
export type QueueEvent = { type: typeof QUEUE_EVENT; at: string } & QueueState;
/** Whatever the channel carries. */
export type ChannelEvent = StudioEvent | QueueEvent;

const queueEventSchema = z.looseObject({ type: z.literal(QUEUE_EVENT), at: z.string(), paused: z.boolean(), jobs: z.array(z.unknown()) });

const isEnd = (type: EventType): type is EndStatus => (END_STATUSES as readonly string[]).includes(type);

/**
 * `prefix`: the studio's Redis namespace (REDIS_PREFIX). Every job's end passes through here exactly
 * once (its producer publishes "succeeded", "failed" or "canceled" only when its conditional update
 * changed the row), so this is where its webhook is queued.
 */
export async function publishEvent(redis: Redis, prefix: string, event: StudioEventInput): Promise<StudioEvent> {
  const stamped = { ...event, at: new Date().toISOString() } as StudioEvent;
  await redis.publish(eventsChannel(prefix), JSON.stringify(stamped));
  if (isEnd(stamped.type)) await enqueueWebhook(redis, prefix, stamped.jobId, stamped.type);
  return stamped;
}

/**
 * Publishes only if the BullMQ lock `lock.key` still holds `lock.token`, checked by Redis in the same
 * step as the publish; false (nothing published) when it does not: the run lost its job (fence.ts).
 */
const PUBLISH_WHILE_LOCKED = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PUBLISH", ARGV[2], ARGV[3]) end return -1`;

export async function publishEventWhileLocked(
  redis: Redis,
  prefix: string,
  event: StudioEventInput,
  lock: { key: string; token: string },
): Promise<boolean> {
  const stamped = { ...event, at: new Date().toISOString() } as StudioEvent;
  if (isEnd(stamped.type)) throw new Error("end events follow the fenced commit: publish them with publishEvent");
  const answer = await redis.eval(PUBLISH_WHILE_LOCKED, 1, lock.key, lock.token, eventsChannel(prefix), JSON.stringify(stamped));
  return answer !== -1;
}

export async function publishQueueState(redis: Redis, prefix: string, state: QueueState): Promise<QueueEvent> {
  const stamped: QueueEvent = { type: QUEUE_EVENT, at: new Date().toISOString(), ...state };
  await redis.publish(eventsChannel(prefix), JSON.stringify(stamped));
  return stamped;
}

/** A message from the channel as an event, or undefined when it is not one. */
export function parseChannelEvent(message: string): ChannelEvent | undefined {
  try {
    const data: unknown = JSON.parse(message);
    const queue = queueEventSchema.safeParse(data);
    if (queue.success) return queue.data as QueueEvent;
    const parsed = studioEventSchema.safeParse(data);
    return parsed.success ? (parsed.data as StudioEvent) : undefined;
  } catch {
    return undefined;
  }
}

/** A job's event from the channel, or undefined when the message is anything else. */
export function parseEvent(message: string): StudioEvent | undefined {
  const event = parseChannelEvent(message);
  return event && event.type !== QUEUE_EVENT ? event : undefined;
}

/** Job events only; subscribeChannelEvents has the queue's too. */
export function subscribeEvents(redis: Redis, prefix: string, onEvent: (event: StudioEvent) => void): Promise<() => Promise<void>> {
  return subscribeChannelEvents(redis, prefix, (event) => {
    if (event.type !== QUEUE_EVENT) onEvent(event);
  });
}

/** Subscribes on a connection of its own; resolves once listening, with the function that stops it. */
export function subscribeChannelEvents(redis: Redis, prefix: string, onEvent: (event: ChannelEvent) => void): Promise<() => Promise<void>> {
  return subscribeChannel(redis, eventsChannel(prefix), (message) => {
    const event = parseChannelEvent(message);
    if (event) onEvent(event);
  });
}
