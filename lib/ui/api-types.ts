/**
 * The shapes the studio's HTTP API returns (the contract's "Job JSON", GET /api/models, uploads, events),
 * as the pages and components consume them. Types only: the API validates and produces them.
 */
import type { GenerationDefaults } from "../../models/manifest.ts";

export const JOB_KINDS = ["t2v", "i2v", "v2v"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export type JobView = {
  id: string;
  kind: JobKind;
  status: JobStatus;
  prompt: string;
  /** The effective negative prompt (the model's default when the user gave none). */
  negativePrompt: string;
  /** The validated generation parameters, plus fit (i2v) and strength (v2v); `seed` is the requested one. */
  params: Record<string, unknown>;
  /** The seed actually used (null until a random one is drawn). */
  seed: number | null;
  model: string;
  inputUploadId: string | null;
  phase: string | null;
  step: number;
  totalSteps: number;
  progress: number;
  etaS?: number | null;
  error: string | null;
  attempts?: number;
  timings: Record<string, number> | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  videoUrl: string | null;
  posterUrl: string | null;
  previewUrl: string | null;
  inputThumbnailUrl: string | null;
  retryOfId: string | null;
};

export type JobPage = { jobs: JobView[]; nextCursor: string | null };

export type ModelView = {
  name: string;
  variant: "t2v" | "i2v";
  tiny: boolean;
  defaults: GenerationDefaults;
  defaultNegativePrompt: string;
  imageToVideo: "first-frame" | "clip-conditioning";
  /** The studio's default model (used when a request names none). */
  default?: boolean;
};

/** The model a form starts with: the studio's default, else the first. */
export function initialModel(models: ModelView[]): ModelView | undefined {
  return models.find((m) => m.default) ?? models[0];
}

export type UploadView = {
  id: string;
  kind: "image" | "video";
  mime: string;
  originalName: string;
  bytes: number;
  width: number;
  height: number;
  frames?: number | null;
  fps?: number | null;
  createdAt: string;
  fileUrl?: string;
  thumbnailUrl?: string | null;
};

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
  url?: string;
  videoUrl?: string;
  posterUrl?: string;
  seed?: number;
  timings?: Record<string, number>;
  error?: string;
};

export const ACTIVE_STATUSES: readonly JobStatus[] = ["queued", "running"];

export function isActive(status: JobStatus): boolean {
  return status === "queued" || status === "running";
}

export function isFinal(status: JobStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "canceled";
}
