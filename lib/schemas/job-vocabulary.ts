/**
 * The words jobs are described in — kinds, statuses, phases and event types — in one module with no imports, so the
 * server's schemas (lib/jobs/schemas.ts), the event channel (lib/queue/events.ts) and the browser
 * (lib/ui/api-types.ts) all use the same lists.
 */
export const JOB_KINDS = ["t2v", "i2v", "v2v"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/**
 * A chain's first part. A job with a higher part continues another from its last frame (lib/jobs/continue.ts):
 * it is stored as an i2v job, but it is "a continuation", which is how the studio shows and filters it.
 */
export const FIRST_CHAIN_PART = 1;

export function isContinuationPart(part: number): boolean {
  return part > FIRST_CHAIN_PART;
}

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses a job can still move on from (a worker will or does run it). */
export function isActive(status: JobStatus): boolean {
  return status === "queued" || status === "running";
}

/** Statuses a job never leaves. */
export function isFinal(status: JobStatus): boolean {
  return !isActive(status);
}

/** What a running generation is doing: load → text → input (an image or video to encode) → denoise → decode. */
export const GENERATION_PHASES = ["load", "text", "input", "denoise", "decode"] as const;
export type GenerationPhase = (typeof GENERATION_PHASES)[number];

export const EVENT_TYPES = ["queued", "started", "progress", "preview", "succeeded", "failed", "canceled", "deleted"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The statuses a job ends in, each announced once by the event of the same name (and by its webhook). */
export const END_STATUSES = ["succeeded", "failed", "canceled"] as const;
export type EndStatus = (typeof END_STATUSES)[number];

/** How urgent a queued job is: a worker takes every "high" job before any "normal" one, and so on. */
export const JOB_PRIORITIES = ["high", "normal", "low"] as const;
export type JobPriority = (typeof JOB_PRIORITIES)[number];
export const DEFAULT_PRIORITY: JobPriority = "normal";

/** The name of the event that carries the whole queue's state (order, priorities, paused). */
export const QUEUE_EVENT = "queue";
