/**
 * What the pages' server components render first: the models, the active queue, one job, one page of
 * the history. They call the same services as the API routes (lib/jobs, through the web process's shared
 * studio context), so the first paint and the API never disagree, and no page waits on its own HTTP API.
 */
import "server-only";
import { cache } from "react";
import { StudioError } from "../errors.ts";
import { getJob } from "../jobs/actions.ts";
import { listJobs } from "../jobs/list.ts";
import { listModels } from "../jobs/model-catalog.ts";
import { listWorkers } from "../queue/worker-registry.ts";
import { studio } from "../server/studio.ts";
import { isValidId } from "../storage/ids.ts";
import { JOB_STATUSES } from "../schemas/job-vocabulary.ts";
import type { JobKind, JobPage, JobView, ModelView, WorkerView } from "../ui/api-types.ts";
import { renderDevice } from "../ui/format.ts";
import { isJobOrigin, originQuery } from "../ui/job-origin.ts";

export const GALLERY_PAGE_SIZE = 24;

/**
 * The installed models a page offers: text to video needs a t2v model; the image page takes any (a t2v
 * model animates the image as its first frame).
 */
export async function loadModels(kind: JobKind): Promise<ModelView[]> {
  const ctx = studio();
  const models: ModelView[] = await listModels(ctx.modelsDir, ctx.log);
  return kind === "t2v" ? models.filter((m) => m.variant === "t2v") : models;
}

/** The frame rate of a model, for labelling durations (null when the model is gone). */
export async function modelFps(name: string): Promise<number | null> {
  const models = await loadModels("i2v");
  return models.find((m) => m.name === name)?.defaults.fps ?? null;
}

/** Queued and running jobs, for the queue panel's first paint. */
export async function loadActiveJobs(): Promise<JobView[]> {
  const page = await listJobs(studio(), { status: "queued,running", limit: "100" });
  return page.jobs;
}

/** One job, or null for an unknown (or malformed) id. Cached per request: metadata and page share it. */
export const loadJob = cache(async (id: string): Promise<JobView | null> => {
  try {
    return await getJob(studio(), id);
  } catch (e) {
    if (e instanceof StudioError && e.code === "not_found") return null;
    throw e;
  }
});

/** `kind`: a JobOrigin (text, image, video or continued), or "" for any. */
export type GalleryFilters = { q: string; status: string; kind: string; batch: string };

const STATUS = new Set<string>(JOB_STATUSES);

/** The gallery's filters from the URL; unknown values are dropped rather than sent on to the API. */
export function galleryFilters(search: Record<string, string | string[] | undefined>): GalleryFilters {
  const one = (v: string | string[] | undefined) => (typeof v === "string" ? v : "");
  const status = one(search.status);
  const kind = one(search.kind);
  const batch = one(search.batch);
  return { q: one(search.q).trim().slice(0, 200), status: STATUS.has(status) ? status : "", kind: isJobOrigin(kind) ? kind : "", batch: isValidId(batch) ? batch : "" };
}

export async function loadJobPage(filters: GalleryFilters, limit: number): Promise<JobPage> {
  const query: Record<string, string> = { limit: String(limit) };
  if (filters.q) query.q = filters.q;
  if (filters.status) query.status = filters.status;
  // The URL's kind is how the job was made (lib/ui/job-origin.ts), continued clips included.
  if (isJobOrigin(filters.kind)) Object.assign(query, originQuery(filters.kind));
  if (filters.batch) query.batch = filters.batch;
  return await listJobs(studio(), query);
}

/** The live workers, for the workers page's first paint (empty when Redis does not answer). */
export async function loadWorkers(): Promise<WorkerView[]> {
  try {
    return await listWorkers(studio().redis, studio().redisPrefix);
  } catch {
    return [];
  }
}

/** What the live workers run on (see renderDevice); null when none is running or Redis does not answer. */
export async function loadRenderDevice(): Promise<string | null> {
  try {
    return renderDevice(await listWorkers(studio().redis, studio().redisPrefix));
  } catch {
    return null;
  }
}
