/**
 * Makes the queue agree with the job history, which is the source of truth. Run by every worker when it
 * starts (and now and then after):
 * - a job the database calls queued or running but Redis no longer has (Redis lost its data, or was
 *   replaced) goes back on the queue, as "queued";
 * - a job BullMQ gave up on without the worker recording it (it stalled more often than allowed,
 *   i.e. its workers kept dying) is marked failed.
 * Every change is conditional on the row being unchanged since it was read, so a worker finishing the
 * job at the same moment wins. A job goes back to the queue of its capability class, derived as at
 * creation (job-class.ts) from the model's manifest in `modelsDir`; a job whose model this process does
 * not have is left for a process that has it (only such a worker could run it anyway).
 */
import type { Redis } from "ioredis";
import type { Db } from "../db/client.ts";
import { publishEvent } from "../queue/events.ts";
import { enqueueGeneration, type GenerateQueue } from "../queue/generate-queue.ts";
import { storedParamsSchema } from "../schemas/generation.ts";
import type { JobKind, JobPriority } from "../schemas/job-vocabulary.ts";
import { jobClassOf } from "./job-class.ts";
import { loadModels } from "./model-catalog.ts";

export type Reconciliation = { requeued: string[]; failed: string[] };

export type ReconcileOptions = {
  /** Where the models are, to derive each job's class. */
  modelsDir: string;
  /** Where to publish "failed" events for the jobs it marks failed, so open pages update. */
  events?: { redis: Redis; prefix: string };
  log?: (line: string) => void;
};

export async function reconcileQueue(db: Db, queue: GenerateQueue, opts: ReconcileOptions): Promise<Reconciliation> {
  const log = opts.log ?? (() => {});
  const result: Reconciliation = { requeued: [], failed: [] };
  const models = await loadModels(opts.modelsDir, log);
  const open = await db.job.findMany({
    where: { status: { in: ["queued", "running"] } },
    select: { id: true, status: true, updatedAt: true, priority: true, model: true, kind: true, params: true },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
  for (const row of open) {
    const queued = await queue.getJob(row.id);
    const state = queued ? await queued.getState() : "missing";
    if (state === "missing" || state === "unknown" || state === "completed") {
      const model = models.find((m) => m.name === row.model);
      const params = storedParamsSchema.safeParse(JSON.parse(row.params));
      if (!model || !params.success) continue;
      const jobClass = jobClassOf(model, row.kind as JobKind, params.data);
      if (row.status === "running") {
        const r = await db.job.updateMany({
          where: { id: row.id, status: "running", updatedAt: row.updatedAt },
          data: { status: "queued", phase: null, step: 0, etaS: null },
        });
        if (r.count === 0) continue;
      }
      // A completed queue entry of an unfinished job is a leftover; the new entry needs its id.
      if (queued && state === "completed") await queued.remove().catch(() => {});
      await enqueueGeneration(queue, row.id, jobClass, row.priority as JobPriority);
      result.requeued.push(row.id);
    } else if (state === "failed") {
      const error = `the queue gave up on this job: ${queued?.failedReason || "unknown reason"}`;
      const r = await db.job.updateMany({
        where: { id: row.id, status: row.status, updatedAt: row.updatedAt },
        data: { status: "failed", error, finishedAt: new Date(), etaS: null },
      });
      if (r.count) {
        result.failed.push(row.id);
        if (opts.events) await publishEvent(opts.events.redis, opts.events.prefix, { type: "failed", jobId: row.id, error }).catch(() => {});
      }
    }
  }
  if (result.requeued.length) log(`reconcile: re-queued ${result.requeued.length} job(s) missing from Redis: ${result.requeued.join(", ")}`);
  if (result.failed.length) log(`reconcile: marked ${result.failed.length} job(s) failed that the queue gave up on`);
  return result;
}
