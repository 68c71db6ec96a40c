/**
 * Routing by capability (docs/multi-machine.md): every job belongs to one capability class — its model,
 * its kind, and the memory tier of its estimated peak — and waits in the BullMQ queue of that class. A
 * worker consumes only the classes it can run: a model it has, a kind it takes, a tier within its memory.
 * So BullMQ itself never hands a job to a worker that cannot run it, and no dispatcher of our own sits
 * between the producers and the workers. This module is the one definition of a class, of its queue's
 * name, of "this worker can run it", of why nobody can, and of when a worker leaves a job to another
 * worker that has the model loaded already.
 */
import { JOB_KINDS, type JobKind } from "../schemas/job-vocabulary.ts";

/**
 * Memory tiers in GiB. A job's class records the smallest tier that holds its estimated peak, so that a
 * handful of queues covers every size and length (the 1.3B model's 832×480×81 at fp16 with guidance
 * needs ~7.2 GiB: tier 8, the 8 GB card of the README's table).
 */
export const MEMORY_TIERS_GIB = [1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 192, 256] as const;

export type JobClass = { model: string; kind: JobKind; memoryGiB: number };

/** What a worker can run, as it advertises it. `memoryGiB` null: unknown, so no limit is applied. */
export type WorkerCapabilities = { models: string[]; kinds: JobKind[]; memoryGiB: number | null };

const GIB = 2 ** 30;

/** The tier of an estimated peak: the smallest tier at least as large (above the largest, whole GiB). */
export function memoryTier(peakBytes: number): number {
  const gib = peakBytes / GIB;
  return MEMORY_TIERS_GIB.find((t) => t >= gib) ?? Math.ceil(gib);
}

const QUEUE_PREFIX = "generate";

/**
 * The BullMQ queue of a class, e.g. "generate.wan2.1-t2v-1.3b.t2v.8g". Model names are letters, digits,
 * ".", "-" and "_" (MODEL_NAME), so the kind and tier are the last two dot-separated parts.
 */
export function classQueueName(c: JobClass): string {
  return `${QUEUE_PREFIX}.${c.model}.${c.kind}.${c.memoryGiB}g`;
}

export function parseClassQueueName(name: string): JobClass | undefined {
  const m = /^generate\.(.+)\.([a-z0-9]+)\.(\d+)g$/.exec(name);
  if (!m || !(JOB_KINDS as readonly string[]).includes(m[2])) return undefined;
  return { model: m[1], kind: m[2] as JobKind, memoryGiB: Number(m[3]) };
}

export function classLabel(c: JobClass): string {
  return `${c.model} · ${c.kind} · ≤ ${c.memoryGiB} GiB`;
}

export function canRun(w: WorkerCapabilities, c: JobClass): boolean {
  return w.models.includes(c.model) && w.kinds.includes(c.kind) && (w.memoryGiB === null || c.memoryGiB <= w.memoryGiB);
}

/**
 * Why no live worker can run a class, in words for the UI; null when one can. The reason names the
 * first requirement nobody meets, checked in the order model, kind, memory, and then the combination
 * (one worker has the model, another the memory).
 */
export function whyNoWorker(c: JobClass, workers: WorkerCapabilities[]): string | null {
  if (workers.some((w) => canRun(w, c))) return null;
  if (workers.length === 0) return "no worker is running; the job waits until one starts";
  const withModel = workers.filter((w) => w.models.includes(c.model));
  if (withModel.length === 0) return `no worker has model ${c.model}`;
  const withKind = withModel.filter((w) => w.kinds.includes(c.kind));
  if (withKind.length === 0) return `no worker with model ${c.model} takes ${c.kind} jobs`;
  const largest = Math.max(...withKind.map((w) => w.memoryGiB ?? Infinity));
  return `needs up to ${c.memoryGiB} GiB; the largest worker with model ${c.model} advertises ${largest} GiB`;
}

/** A live worker as the rule below sees it (a subset of the registry's WorkerInfo). */
export type PeerState = { id: string; model: string | null; running: number; concurrency: number; state: string };

/**
 * Prefer a worker that has the model loaded: loading the 1.3B model costs seconds to minutes, a clip
 * only minutes. A worker whose loaded model is another one (or none) leaves a class of model M alone
 * while another live, ready worker has M loaded and a free slot — that one will take the job — unless
 * the oldest job of the class has waited `graceMs` already (that worker is slower to it than expected).
 * `peers`: the live workers that can run the class (canRun), so the one deferred to can take the job.
 */
export function defersTo(
  self: { id: string; model: string | null },
  c: JobClass,
  peers: PeerState[],
  oldestWaitingMs: number | null,
  graceMs: number,
): string | undefined {
  if (self.model === c.model) return undefined;
  if (oldestWaitingMs !== null && oldestWaitingMs >= graceMs) return undefined;
  return peers.find((p) => p.id !== self.id && p.state === "ready" && p.model === c.model && p.running < p.concurrency)?.id;
}
