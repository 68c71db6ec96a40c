/**
 * The order in which workers will take the waiting jobs, read from and changed through BullMQ itself:
 * every studio job waits in BullMQ's "prioritized" set (generate-queue.ts gives each a priority ≥ 1),
 * whose order is the band (high, normal, low) and then the time the job entered the band. Moving a job
 * re-enters the jobs from that point of the band, in the new order, with `changePriority` (which
 * appends a job to the end of its band); pausing is BullMQ's global pause, which lets running jobs
 * finish and keeps workers from taking new ones.
 */
import type { JobPriority } from "../schemas/job-vocabulary.ts";
import { bullPriority, priorityOfBull, type GenerateQueue } from "./generate-queue.ts";

export type QueuedJob = { id: string; priority: JobPriority };
/** The whole queue as the API and the queue panel see it: paused or not, and who runs next. */
export type QueueState = { paused: boolean; jobs: QueuedJob[] };

/** Waiting jobs in the order a worker will take them. */
export async function waitingOrder(queue: GenerateQueue): Promise<QueuedJob[]> {
  // Jobs added without a priority (by an older studio) sit in the plain wait list, which BullMQ empties first.
  const plain = await queue.getJobs(["wait"], 0, -1, true);
  const prioritized = await queue.getPrioritized(0, -1);
  return [...plain, ...prioritized]
    .filter((job) => job?.id)
    .map((job) => ({ id: job.id!, priority: priorityOfBull(job.priority) }));
}

export async function queueState(queue: GenerateQueue): Promise<QueueState> {
  const [paused, jobs] = await Promise.all([queue.isPaused(), waitingOrder(queue)]);
  return { paused, jobs };
}

/**
 * Makes `ids` (jobs still waiting) the tail of their band `priority`, in this order. Jobs no longer
 * waiting (a worker took one meanwhile) are skipped by BullMQ: `changePriority` only moves a job that is
 * in the wait list or the prioritized set.
 */
export async function reenterBand(queue: GenerateQueue, ids: string[], priority: JobPriority): Promise<void> {
  for (const id of ids) {
    const job = await queue.getJob(id);
    await job?.changePriority({ priority: bullPriority(priority) });
  }
}
