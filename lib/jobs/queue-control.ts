/**
 * Queue control: a waiting job's priority, its place in the queue, and pausing the whole queue (every
 * class queue). The order lives in BullMQ, per capability class (lib/queue/queue-order.ts); the database keeps each job's priority band, so a
 * job put back on the queue by reconciliation lands in the same band. Every change is announced with
 * the queue's new state (a "queue" event), so every open queue panel shows it.
 */
import { StudioError } from "../errors.ts";
import { publishQueueState } from "../queue/events.ts";
import { classOrder, queueState, reenterBand, type QueueState } from "../queue/queue-order.ts";
import { classOfJob } from "../queue/generate-queue.ts";
import { listWorkers } from "../queue/worker-registry.ts";
import type { JobPriority } from "../schemas/job-vocabulary.ts";
import { getJob } from "./actions.ts";
import type { JobsContext } from "./context.ts";

export type MoveDirection = "up" | "down";

const stateOf = async (ctx: JobsContext) => queueState(ctx.queue, await listWorkers(ctx.redis, ctx.redisPrefix));

async function announce(ctx: JobsContext): Promise<QueueState> {
  const state = await stateOf(ctx);
  await publishQueueState(ctx.redis, ctx.redisPrefix, state).catch((e) => ctx.log(`publishing the queue state failed: ${(e as Error).message}`));
  return state;
}

export function getQueueState(ctx: JobsContext): Promise<QueueState> {
  return stateOf(ctx);
}

/** A worker finishes the jobs it is running; nobody takes a new one until resumeQueue. */
export async function pauseQueue(ctx: JobsContext): Promise<QueueState> {
  await ctx.queue.pause();
  return announce(ctx);
}

export async function resumeQueue(ctx: JobsContext): Promise<QueueState> {
  await ctx.queue.resume();
  return announce(ctx);
}

async function requireWaiting(ctx: JobsContext, id: string): Promise<void> {
  const job = await getJob(ctx, id);
  if (job.status !== "queued") throw new StudioError("conflict", `job ${id} is ${job.status}; only a queued job can be reordered`);
}

/** Records the band in the database (only while the job still waits), then in BullMQ. */
async function setBand(ctx: JobsContext, id: string, priority: JobPriority): Promise<void> {
  const r = await ctx.db.job.updateMany({ where: { id, status: "queued" }, data: { priority } });
  if (!r.count) throw new StudioError("conflict", `job ${id} is no longer queued`);
}

/** The class queue a waiting job is in. */
async function queueOf(ctx: JobsContext, id: string) {
  const job = await ctx.queue.getJob(id);
  const jobClass = job && classOfJob(job);
  if (!jobClass) throw new StudioError("conflict", `job ${id} is not waiting in the queue (a worker may be taking it)`);
  return { jobClass, queue: ctx.queue.forClass(jobClass) };
}

/** Moves a waiting job to another band, behind the jobs of its class already waiting there. */
export async function setJobPriority(ctx: JobsContext, id: string, priority: JobPriority): Promise<QueueState> {
  await requireWaiting(ctx, id);
  await setBand(ctx, id, priority);
  const { queue } = await queueOf(ctx, id).catch(() => ({ queue: undefined }));
  if (queue) await reenterBand(queue, [id], priority);
  return announce(ctx);
}

/**
 * Swaps a waiting job with its neighbour ahead ("up") or behind ("down") among the jobs of its class (the
 * only order a worker sees). At a band's edge the job joins the neighbour's band, so "up" from the first
 * normal job puts it behind the last high one. At either end of its class's queue nothing changes.
 */
export async function moveJob(ctx: JobsContext, id: string, direction: MoveDirection): Promise<QueueState> {
  await requireWaiting(ctx, id);
  const { jobClass, queue } = await queueOf(ctx, id);
  const order = await classOrder(queue, jobClass);
  const at = order.findIndex((j) => j.id === id);
  if (at < 0) throw new StudioError("conflict", `job ${id} is not waiting in the queue (a worker may be taking it)`);
  const other = direction === "up" ? at - 1 : at + 1;
  if (other < 0 || other >= order.length) return announce(ctx);

  const band = order[other].priority;
  const wanted = [...order];
  [wanted[at], wanted[other]] = [{ ...order[other] }, { ...order[at], priority: band }];
  if (order[at].priority !== band) await setBand(ctx, id, band);
  // Re-entering, in the new order, every job of the band from the first changed place on.
  const from = Math.min(at, other);
  await reenterBand(
    queue,
    wanted.slice(from).filter((j) => j.priority === band).map((j) => j.id),
    band,
  );
  return announce(ctx);
}
