/**
 * Folding live events into a job as the pages show it: the queue panel and the job page receive the
 * contract's events (progress, preview, succeeded…) and keep one JobView per job up to date with them.
 */
import { overallProgress } from "../jobs/progress.ts";
import type { JobView, StudioEvent } from "./api-types.ts";

/** The job after `event` (events for another job, or that say nothing new, return it unchanged). */
export function applyEvent(job: JobView, event: StudioEvent): JobView {
  if (event.jobId !== job.id) return job;
  switch (event.type) {
    case "queued":
      return { ...job, status: "queued" };
    case "started":
      return { ...job, status: "running", startedAt: job.startedAt ?? event.at, error: null };
    case "progress": {
      const total = event.total ?? job.totalSteps;
      const step = event.step ?? job.step;
      const phase = event.phase ?? job.phase;
      return {
        ...job,
        status: "running",
        phase,
        step,
        totalSteps: total,
        // The same whole-job fraction the API reports, so the bar never jumps between the two.
        progress: typeof event.progress === "number" ? event.progress : overallProgress("running", phase, step, total),
        etaS: event.etaS === undefined ? job.etaS : event.etaS,
      };
    }
    case "preview":
      return event.url ? { ...job, previewUrl: event.url } : job;
    case "succeeded":
      return {
        ...job,
        status: "succeeded",
        progress: 1,
        etaS: null,
        videoUrl: event.videoUrl ?? job.videoUrl,
        posterUrl: event.posterUrl ?? job.posterUrl,
        seed: event.seed ?? job.seed,
        timings: event.timings ?? job.timings,
        finishedAt: event.at,
      };
    case "failed":
      return { ...job, status: "failed", error: event.error ?? job.error, etaS: null, finishedAt: event.at };
    case "canceled":
      return { ...job, status: "canceled", etaS: null, finishedAt: event.at };
    default:
      return job;
  }
}

/** The whole job's fraction done (0…1), as the API computes it. */
export function progressOf(job: Pick<JobView, "status" | "progress">): number {
  if (job.status === "succeeded") return 1;
  return Number.isFinite(job.progress) ? Math.max(0, Math.min(1, job.progress)) : 0;
}

/**
 * Parses one SSE message's data as an event or a job snapshot; returns undefined for anything else
 * (heartbeats are comments and never reach here, but a proxy could inject noise).
 */
export function parseEventData(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

export function isStudioEvent(v: unknown): v is StudioEvent {
  return typeof v === "object" && v !== null && typeof (v as StudioEvent).type === "string" && typeof (v as StudioEvent).jobId === "string";
}

/** A snapshot event carries the Job itself (or { job }). */
export function snapshotJob(v: unknown): JobView | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as { job?: unknown; id?: unknown; status?: unknown };
  if (o.job && typeof o.job === "object") return o.job as JobView;
  if (typeof o.id === "string" && typeof o.status === "string") return v as JobView;
  return undefined;
}
