/**
 * A job row as the API returns it: JSON columns parsed, the seed as a number, dates as ISO strings, and
 * the URLs of its files — present only once a file is safe to fetch (the video and poster when the job
 * succeeded; the preview as soon as the worker has published one).
 */
import type { JobRow, UploadRow } from "../db/client.ts";
import { withoutServerPaths } from "../errors.ts";
import { overallProgress } from "./progress.ts";
import type { JobPriority } from "../schemas/job-vocabulary.ts";
import type { JobJson, JobKind, JobStatus, UploadJson } from "./schemas.ts";
import { jobChainUrl, jobPosterUrl, jobPreviewUrl, jobVideoUrl, uploadFileUrl, uploadThumbnailUrl } from "./urls.ts";

function parseObject<T>(text: string | null): T | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** What only other rows tell about a job's chain (lib/jobs/chain.ts): the chain's length and the parts after this one. */
export type ChainNeighbours = { parts: number; nextIds: string[] };

/** The chain part of a job's JSON: null for a clip that neither continues nor is continued. */
function chainJson(row: JobRow, neighbours: ChainNeighbours | undefined): JobJson["chain"] {
  const parts = Math.max(row.chainPart, neighbours?.parts ?? 1);
  if (parts === 1) return null;
  return {
    rootId: row.chainRootId ?? row.id,
    part: row.chainPart,
    parts,
    nextIds: neighbours?.nextIds ?? [],
    videoUrl: row.status === "succeeded" && row.chainFile ? jobChainUrl(row.id) : null,
  };
}

/** The job as the API shows it; without `neighbours` (events, webhooks) the chain knows only this row. */
export function jobJson(row: JobRow, neighbours?: ChainNeighbours): JobJson {
  const succeeded = row.status === "succeeded";
  return {
    id: row.id,
    kind: row.kind as JobKind,
    status: row.status as JobStatus,
    prompt: row.prompt,
    negativePrompt: row.negativePrompt,
    params: parseObject<Record<string, unknown>>(row.params) ?? {},
    seed: row.seed === null ? null : Number(row.seed),
    model: row.model,
    inputUploadId: row.inputUploadId,
    // The row keeps the last progress the worker wrote (e.g. decode 2/3); a finished job is past all phases.
    phase: succeeded ? null : row.phase,
    step: succeeded ? row.totalSteps : row.step,
    totalSteps: row.totalSteps,
    progress: overallProgress(row.status, row.phase, row.step, row.totalSteps),
    etaS: row.status === "running" ? row.etaS : null,
    // The engine's and ffmpeg's words, less the server paths they name.
    error: row.error === null ? null : withoutServerPaths(row.error),
    timings: parseObject<Record<string, number>>(row.timings),
    attempts: row.attempts,
    resumedFromStep: row.resumedFromStep,
    createdAt: row.createdAt.toISOString(),
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
    videoUrl: succeeded && row.videoFile ? jobVideoUrl(row.id) : null,
    posterUrl: succeeded && row.posterFile ? jobPosterUrl(row.id) : null,
    previewUrl: row.previewFile ? jobPreviewUrl(row.id, row.step) : null,
    inputThumbnailUrl: row.inputUploadId ? uploadThumbnailUrl(row.inputUploadId) : null,
    retryOfId: row.retryOfId,
    continuesJobId: row.continuesJobId,
    chain: chainJson(row, neighbours),
    priority: row.priority as JobPriority,
    hasWebhook: row.webhookUrl !== null,
    batchId: row.batchId,
    batchIndex: row.batchIndex,
  };
}

export function uploadJson(row: UploadRow): UploadJson {
  return {
    id: row.id,
    kind: row.kind as UploadJson["kind"],
    mime: row.mime,
    originalName: row.originalName,
    bytes: row.bytes,
    width: row.width,
    height: row.height,
    frames: row.frames,
    fps: row.fps,
    createdAt: row.createdAt.toISOString(),
    fileUrl: uploadFileUrl(row.id),
    thumbnailUrl: row.thumbFile ? uploadThumbnailUrl(row.id) : null,
  };
}
