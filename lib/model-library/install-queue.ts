/**
 * Model installs as queue jobs: a BullMQ queue of its own, so the web server only enqueues and a worker
 * process downloads and converts (lib/model-library/install-worker.ts). The queue job is the install's record: its
 * data is the request, its progress the latest InstallProgress, its state the status. What happens is
 * published as `install` events (the whole install each time) on a Redis channel beside the jobs' one, and
 * relayed to browsers by the same hub and SSE relay (lib/queue/event-hub.ts, lib/http/job-events.ts).
 */
import { existsSync } from "node:fs";
import { Queue, type Job } from "bullmq";
import type { Redis } from "ioredis";
import { z } from "zod";
import { StudioError } from "../errors.ts";
import { publishCancel } from "../queue/cancel.ts";
import { redisName } from "../redis/namespace.ts";
import { subscribeChannel } from "../redis/subscribe.ts";
import { isValidId, newId } from "../storage/ids.ts";
import { defaultInstallName, type InstallProgress, type InstallSpec } from "./install-source.ts";
import { installRequestSchema, installSchema, type InstallJson, type InstallStatus } from "./install-schemas.ts";

export const INSTALL_QUEUE = "model-installs";
export const INSTALL_JOB = "install";
/** The installs' event channel in the studio's Redis namespace (beside the jobs' `<prefix>:events`). */
const installEventsChannel = (prefix: string) => redisName(prefix, "installs");
/** The failure reason a cancelled install ends with (told apart from real failures). */
export const CANCELED_REASON = "canceled";

export type InstallJobData = { id: string; spec: InstallSpec; createdAt: string };
export type InstallQueue = Queue<InstallJobData>;

export type InstallEvent = { type: "install"; at: string; install: InstallJson };

/** The queue in the studio's Redis namespace (`prefix`, lib/redis/namespace.ts), as the generation queue. */
export function createInstallQueue(connection: Redis, prefix: string): InstallQueue {
  return new Queue<InstallJobData>(INSTALL_QUEUE, { connection, prefix });
}

/** The namespace a queue was created in. */
function prefixOf(queue: InstallQueue): string {
  return queue.opts.prefix!;
}

const STATE: Record<string, InstallStatus> = {
  waiting: "queued",
  delayed: "queued",
  prioritized: "queued",
  "waiting-children": "queued",
  active: "running",
  completed: "succeeded",
  failed: "failed",
};

/** The install as the API shows it, from its queue job (`state` when the caller already knows it). */
export async function installJson(job: Job<InstallJobData>, state?: string): Promise<InstallJson> {
  const s = state ?? (await job.getState());
  let status = STATE[s] ?? "queued";
  if (status === "failed" && job.failedReason === CANCELED_REASON) status = "canceled";
  const progress = typeof job.progress === "object" && job.progress !== null ? (job.progress as InstallProgress) : null;
  return installSchema.parse({
    id: job.data.id,
    source: job.data.spec.source,
    name: job.data.spec.name,
    precision: job.data.spec.precision,
    loras: job.data.spec.loras ?? [],
    status,
    progress,
    error: status === "failed" ? job.failedReason || "failed" : null,
    createdAt: job.data.createdAt,
    finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  });
}

export async function publishInstall(redis: Redis, prefix: string, install: InstallJson): Promise<void> {
  const event: InstallEvent = { type: "install", at: new Date().toISOString(), install };
  await redis.publish(installEventsChannel(prefix), JSON.stringify(event));
}

const installEventSchema = z.object({ type: z.literal("install"), at: z.string(), install: installSchema });

export function subscribeInstalls(redis: Redis, prefix: string, onEvent: (event: InstallEvent) => void): Promise<() => Promise<void>> {
  return subscribeChannel(redis, installEventsChannel(prefix), (message) => {
    try {
      const parsed = installEventSchema.safeParse(JSON.parse(message));
      if (parsed.success) onEvent(parsed.data);
    } catch {
      // not an event
    }
  });
}

/** The installs still on record: queued and running ones, then finished ones (kept a day), newest first. */
export async function listInstalls(queue: InstallQueue): Promise<InstallJson[]> {
  const installs: InstallJson[] = [];
  for (const state of ["active", "waiting", "completed", "failed"] as const) {
    for (const job of await queue.getJobs([state], 0, 99)) if (job) installs.push(await installJson(job, state));
  }
  return installs.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export async function getInstall(queue: InstallQueue, id: string): Promise<InstallJson> {
  const missing = () => new StudioError("not_found", `install ${id} was not found`);
  if (!isValidId(id)) throw missing();
  // The state first, then the job: a job read before its state could miss the failure reason of a state read after it.
  const state = await queue.getJobState(id);
  const job = state === "unknown" ? undefined : await queue.getJob(id);
  if (!job) throw missing();
  return installJson(job, state);
}

/**
 * Validates and enqueues an install; the name must be free (no installed model, no install of it under way).
 * `isInstalled` is the models folder's answer (lib/model-library/installed.ts).
 */
export async function enqueueInstall(queue: InstallQueue, redis: Redis, body: unknown, isInstalled: (name: string) => boolean): Promise<InstallJson> {
  const request = installRequestSchema.parse(body);
  if ("path" in request.source && !existsSync(request.source.path)) {
    throw new StudioError("invalid_request", "source.path: no such file or folder on the server", "source.path");
  }
  const lost = request.loras.findIndex((l) => !existsSync(l.file));
  if (lost >= 0) throw new StudioError("invalid_request", `loras[${lost}].file: no such file on the server`, `loras.${lost}.file`);
  const name = request.name ?? defaultInstallName(request.source);
  if (isInstalled(name)) throw new StudioError("conflict", `a model named ${name} is already installed`, "name");
  const pending = await queue.getJobs(["active", "waiting"], 0, 999);
  if (pending.some((j) => j?.data.spec.name === name)) throw new StudioError("conflict", `a model named ${name} is already being installed`, "name");
  const id = newId();
  const data: InstallJobData = { id, spec: { source: request.source, name, precision: request.precision, loras: request.loras }, createdAt: new Date().toISOString() };
  const install = installSchema.parse({ ...data.spec, loras: request.loras, id, status: "queued", progress: null, error: null, createdAt: data.createdAt, finishedAt: null });
  // Announced before it is queued: a worker that takes it at once publishes "running" after this, never before.
  await publishInstall(redis, prefixOf(queue), install);
  await queue.add(INSTALL_JOB, data, {
    jobId: id,
    // A failed download or conversion is reported, not retried behind the user's back.
    attempts: 1,
    removeOnComplete: { age: 24 * 3600, count: 100 },
    removeOnFail: { age: 24 * 3600, count: 100 },
  });
  return install;
}

/** Cancels an install: a queued one leaves the queue, a running one is stopped by its worker (which cleans up). */
export async function cancelInstall(queue: InstallQueue, redis: Redis, id: string): Promise<InstallJson> {
  const install = await getInstall(queue, id);
  if (install.status === "queued") {
    const job = await queue.getJob(id);
    // A job taken by a worker between the two reads cannot be removed; it is cancelled as a running one.
    const removed = job ? await job.remove().then(() => true, () => false) : false;
    if (removed) {
      const canceled: InstallJson = { ...install, status: "canceled", finishedAt: new Date().toISOString() };
      await publishInstall(redis, prefixOf(queue), canceled);
      return canceled;
    }
  } else if (install.status !== "running") {
    throw new StudioError("conflict", `install ${id} has already ended (${install.status})`);
  }
  await publishCancel(redis, prefixOf(queue), id);
  return install;
}
