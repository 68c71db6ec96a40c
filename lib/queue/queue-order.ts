/**
 * The order in which workers will take the waiting jobs, read from and changed through BullMQ itself.
 * Every studio job waits in the "prioritized" set of its class queue (generate-queue.ts gives each a
 * priority ≥ 1), whose order is the band (high, normal, low) and then the time the job entered the band.
 * Order is kept per class: jobs of different classes go to different workers, so "before" only means
 * something among jobs of one class. The studio-wide list shows, band by band, each class's jobs in its
 * own order. Moving a job re-enters the jobs from that point of the band of its class, in the new order,
 * with `changePriority` (which appends a job to the end of its band); pausing is BullMQ's global pause
 * of every class queue, which lets running jobs finish and keeps workers from taking new ones.
 */
import type { JobPriority } from "../schemas/job-vocabulary.ts";
import { bullPriority, priorityOfBull, type ClassQueue, type GenerateQueue } from "./generate-queue.ts";
import { classQueueName, whyNoWorker, type JobClass } from "./routing.ts";
import { capabilitiesOf, type WorkerInfo } from "./worker-registry.ts";

/**
 * A waiting job: its band, its class queue, and why no live worker can run it (null when one can) — the
 * job stays queued either way, since a worker that can may join later.
 */
export type QueuedJob = { id: string; priority: JobPriority; queue: string; waitingFor: string | null };
/** The whole queue as the API and the queue panel see it: paused or not, and who runs next. */
export type QueueState = { paused: boolean; jobs: QueuedJob[] };

/** The waiting jobs of one class queue in the order a worker will take them. */
export async function classOrder(queue: ClassQueue, jobClass: JobClass): Promise<QueuedJob[]> {
  // Jobs added without a priority sit in the plain wait list, which BullMQ empties first.
  const plain = await queue.getJobs(["wait"], 0, -1, true);
  const prioritized = await queue.getPrioritized(0, -1);
  return [...plain, ...prioritized]
    .filter((job) => job?.id)
    .map((job) => ({ id: job.id!, priority: priorityOfBull(job.priority), queue: classQueueName(jobClass), waitingFor: null }));
}

/** Why no live worker that takes jobs can run a class (routing.ts, whyNoWorker). */
export function whyWaiting(jobClass: JobClass, workers: WorkerInfo[]): string | null {
  return whyNoWorker(jobClass, workers.filter((w) => w.state === "ready").map(capabilitiesOf));
}

/** Every class's waiting jobs: band by band, each class (by queue name) in its own order. */
export async function waitingOrder(queue: GenerateQueue, workers: WorkerInfo[]): Promise<QueuedJob[]> {
  const perClass: QueuedJob[][] = [];
  for (const c of await queue.classes()) {
    const waitingFor = whyWaiting(c, workers);
    perClass.push((await classOrder(queue.forClass(c), c)).map((j) => ({ ...j, waitingFor })));
  }
  const rank = (j: QueuedJob) => bullPriority(j.priority);
  // A stable sort by band keeps the class order, and each class's own order, within a band.
  return perClass.flat().sort((a, b) => rank(a) - rank(b));
}

/** `workers`: the live workers (worker-registry.ts, listWorkers), for each job's `waitingFor`. */
export async function queueState(queue: GenerateQueue, workers: WorkerInfo[]): Promise<QueueState> {
  const [paused, jobs] = await Promise.all([queue.isPaused(), waitingOrder(queue, workers)]);
  return { paused, jobs };
}

/**
 * Makes `ids` (jobs of one class still waiting) the tail of their band `priority`, in this order. Jobs no
 * longer waiting (a worker took one meanwhile) are skipped by BullMQ: `changePriority` only moves a job
 * that is in the wait list or the prioritized set.
 */
export async function reenterBand(queue: ClassQueue, ids: string[], priority: JobPriority): Promise<void> {
  for (const id of ids) {
    const job = await queue.getJob(id);
    await job?.changePriority({ priority: bullPriority(priority) });
  }
}
