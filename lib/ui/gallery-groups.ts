/**
 * The gallery's grid as cards and batch groups: the jobs of one batch gather into one group at the
 * place of the first of them in the list (the list is newest first, and a batch's jobs share one
 * creation time), in batch order. Pure, so it is unit-tested without a browser.
 */
import type { JobStatus, JobView } from "./api-types.ts";

export type GalleryItem = { type: "job"; job: JobView } | { type: "batch"; id: string; jobs: JobView[] };

export function galleryItems(jobs: JobView[]): GalleryItem[] {
  const items: GalleryItem[] = [];
  const groups = new Map<string, JobView[]>();
  for (const job of jobs) {
    if (job.batchId === null) {
      items.push({ type: "job", job });
      continue;
    }
    const group = groups.get(job.batchId);
    if (group) group.push(job);
    else {
      const members = [job];
      groups.set(job.batchId, members);
      items.push({ type: "batch", id: job.batchId, jobs: members });
    }
  }
  for (const members of groups.values()) members.sort((a, b) => (a.batchIndex ?? 0) - (b.batchIndex ?? 0));
  return items;
}

const STATUS_WORDS: Record<JobStatus, string> = { running: "running", queued: "queued", succeeded: "done", failed: "failed", canceled: "canceled" };

/** "2 done · 1 running · 1 queued": the group's statuses, the active ones first, none that is zero. */
export function batchStatusLine(jobs: Pick<JobView, "status">[]): string {
  const order: JobStatus[] = ["running", "queued", "succeeded", "failed", "canceled"];
  return order
    .map((s) => [s, jobs.filter((j) => j.status === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${STATUS_WORDS[s]}`)
    .join(" · ");
}

/** The group's title: its one prompt with the number of seeds, or the number of prompts. */
export function batchTitle(jobs: Pick<JobView, "prompt">[]): { prompt: string | null; label: string } {
  const prompts = new Set(jobs.map((j) => j.prompt));
  const videos = `${jobs.length} video${jobs.length === 1 ? "" : "s"}`;
  return prompts.size === 1 ? { prompt: jobs[0].prompt, label: `Batch · ${videos}` } : { prompt: null, label: `Batch · ${prompts.size} prompts · ${videos}` };
}
