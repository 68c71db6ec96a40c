/**
 * The words jobs are described in — kinds, statuses, phases and event types — in one module with no imports, so the
 * server's schemas (lib/jobs/schemas.ts), the event channel (lib/queue/events.ts) and the browser
 * (lib/ui/api-types.ts) all use the same lists.
 */
export const JOB_KINDS = ["t2v", "i2v", "v2v"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

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
