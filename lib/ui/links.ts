/** Where the studio's buttons lead, and the names of downloaded files. */
import type { JobView } from "./api-types.ts";
import { isContinuation } from "./job-origin.ts";

/** The element id of a job page's Continue form (the reuse link scrolls to it). */
export const CONTINUE_FORM_ID = "continue-form";

/**
 * The form that reproduces a job: text to video, the image page in the right tab, or, for a continuation,
 * the Continue form of its previous part filled with its prompt and settings (its image was that part's
 * last frame, so only continuing that part again can reproduce it). Null where nothing can: a
 * continuation whose previous part was deleted.
 */
export function reuseHref(job: Pick<JobView, "id" | "kind" | "chain" | "continuesJobId">): string | null {
  const from = encodeURIComponent(job.id);
  if (isContinuation(job)) return job.continuesJobId ? `${jobHref(job.continuesJobId)}?from=${from}#${CONTINUE_FORM_ID}` : null;
  if (job.kind === "i2v") return `/image?from=${from}`;
  if (job.kind === "v2v") return `/image?mode=video&from=${from}`;
  return `/?from=${from}`;
}

export function jobHref(id: string): string {
  return `/jobs/${encodeURIComponent(id)}`;
}

/** "wan-a-red-fox-in-the-snow-1234.mp4": recognisable in a downloads folder, safe on every file system. */
export function downloadName(job: Pick<JobView, "id" | "prompt" | "seed">): string {
  const slug = job.prompt
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48)
    .replace(/-+$/, "");
  const tail = job.seed !== null ? String(job.seed) : job.id.slice(0, 8);
  return `wan-${slug ? `${slug}-` : ""}${tail}.mp4`;
}

/** A batch's jobs: the gallery narrowed to that one group. */
export function batchHref(id: string): string {
  return `/gallery?batch=${encodeURIComponent(id)}`;
}
