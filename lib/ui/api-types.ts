/**
 * The shapes the studio's HTTP API returns (the contract's "Job JSON", GET /api/models, uploads, events),
 * as the pages and components consume them: the API's own types, plus the constants and small
 * predicates the browser needs without loading the API's schemas.
 */
import type { JobJson, JobList, ModelJson, UploadJson } from "../jobs/schemas.ts";

export const JOB_KINDS = ["t2v", "i2v", "v2v"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A job as the API returns it (lib/jobs/schemas.ts is the source of truth; these are its types). */
export type JobView = JobJson;
export type JobPage = JobList;
export type ModelView = ModelJson;
export type UploadView = UploadJson;

/** The model a form starts with: the studio's default, else the first. */
export function initialModel(models: ModelView[]): ModelView | undefined {
  return models.find((m) => m.default) ?? models[0];
}

export type ApiErrorBody = { error: { code: string; message: string; field?: string } };

export const EVENT_TYPES = ["queued", "started", "progress", "preview", "succeeded", "failed", "canceled", "deleted"] as const;
export type StudioEventType = (typeof EVENT_TYPES)[number];

/** One message of GET /api/events or GET /api/jobs/:id/events (after the "snapshot"). */
export type StudioEvent = {
  type: StudioEventType;
  jobId: string;
  at: string;
  phase?: string;
  step?: number;
  total?: number;
  elapsedS?: number;
  etaS?: number | null;
  /** Progress events: the whole job's fraction done, as in the job JSON. */
  progress?: number;
  /** Queued events: the new job as the API returns it. */
  job?: unknown;
  url?: string;
  videoUrl?: string;
  posterUrl?: string;
  seed?: number;
  timings?: Record<string, number>;
  error?: string;
};

export function isActive(status: JobStatus): boolean {
  return status === "queued" || status === "running";
}

export function isFinal(status: JobStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "canceled";
}
