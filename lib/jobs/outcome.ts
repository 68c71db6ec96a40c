/**
 * Recording how a run ended, on the worker side: succeeded, failed or canceled, with the timings, each by
 * a conditional update of the row (only while this attempt owns it: fence.ts), then the matching event. A
 * run whose row moved on meanwhile (deleted, canceled, or taken over by a later attempt) leaves it alone
 * and removes what it wrote — only its own attempt's files, so never the winner's.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Db } from "../db/client.ts";
import type { GenerationResult } from "../engine/generation.ts";
import type { StudioEventInput } from "../queue/events.ts";
import { isRunOutput, isSafeFileName, type Storage } from "../storage/storage.ts";
import type { RunFence } from "./fence.ts";
import { jobPosterUrl, jobVideoUrl } from "./urls.ts";
import { splitTimings } from "../schemas/dit-calls.ts";

/** What recording an outcome works with: passed in by the processor, per run. */
export type OutcomeDeps = {
  db: Db;
  storage: Storage;
  workerId: string;
  /** Publishes an event of this run (stamped with its attempt); end events only after a fenced commit. */
  publish(event: StudioEventInput): Promise<unknown>;
  log(line: string): void;
  /** This run's claim on the job: every write is conditional on it. */
  fence: RunFence;
};

/** The longest error text kept on a job; an engine error's first lines say what went wrong. */
const MAX_ERROR_CHARS = 2000;

export function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > MAX_ERROR_CHARS ? `${message.slice(0, MAX_ERROR_CHARS)}…` : message;
}

/** The engine must name plain files it published in the job's folder, and a valid seed. */
export function checkResult(storage: Storage, jobId: string, result: GenerationResult): void {
  for (const [what, file] of [
    ["video", result.videoFile],
    ["poster", result.posterFile],
  ] as const) {
    const name = path.basename(file ?? "");
    if (!isSafeFileName(name) || !existsSync(storage.jobFile(jobId, name))) {
      throw new Error(`the engine reported a ${what} file (${JSON.stringify(file)}) that is not in the job's folder`);
    }
  }
  if (!Number.isSafeInteger(result.seed) || result.seed < 0) throw new Error(`the engine reported an invalid seed: ${result.seed}`);
}

/** Marks the job failed (if it is still running) and returns the error text kept on it. */
export async function recordFailure(deps: OutcomeDeps, jobId: string, failure: unknown, timings: Record<string, number>): Promise<string> {
  const message = errorText(failure);
  const marked = await deps.db.job.updateMany({
    where: deps.fence.owned,
    data: { status: "failed", error: message, finishedAt: new Date(), timings: JSON.stringify(timings), etaS: null },
  });
  if (marked.count) {
    await deps.publish({ type: "failed", jobId, error: message });
    deps.log(`job ${jobId}: failed: ${message.split("\n")[0]}`);
  } else {
    const takenOver = await deps.fence.takenOverBy();
    if (takenOver) deps.fence.lose(takenOver);
    deps.log(takenOver ? deps.fence.fencedLine() : `job ${jobId}: failed after it was canceled or deleted: ${message.split("\n")[0]}`);
  }
  return message;
}

export async function recordCancel(deps: OutcomeDeps, jobId: string, timings: Record<string, number>): Promise<void> {
  const data = { timings: JSON.stringify(timings), etaS: null };
  const marked = await deps.db.job.updateMany({
    where: deps.fence.owned,
    data: { ...data, status: "canceled", finishedAt: new Date() },
  });
  if (marked.count) {
    await deps.publish({ type: "canceled", jobId });
  } else {
    // The API marked it canceled already (and told the clients); add what only the worker knows.
    await deps.db.job.updateMany({ where: { id: jobId, status: "canceled", attempts: deps.fence.attempt }, data });
  }
  deps.log(`job ${jobId}: canceled`);
}

export async function recordSuccess(
  deps: OutcomeDeps,
  jobId: string,
  result: GenerationResult,
  timings: Record<string, number>,
  /** A continuation's joined chain video in the job's folder (lib/jobs/chain-run.ts). */
  chainFile: string | null = null,
): Promise<void> {
  const { db, storage } = deps;
  const videoFile = path.basename(result.videoFile);
  const posterFile = path.basename(result.posterFile);
  let landed: boolean;
  try {
    const done = await db.job.updateMany({
      where: deps.fence.owned,
      data: {
        status: "succeeded",
        videoFile,
        posterFile,
        chainFile,
        seed: BigInt(result.seed),
        timings: JSON.stringify(timings),
        finishedAt: new Date(),
        etaS: null,
        error: null,
      },
    });
    landed = done.count > 0;
  } catch (error) {
    landed = await commitLanded(deps, jobId, videoFile, error);
  }
  if (!landed) {
    await discardOutputs(deps, jobId, [videoFile, posterFile, ...(chainFile ? [chainFile] : [])]);
    return;
  }
  // Earlier attempts' files (a crashed one's, or its orphaned encoder's) are no one's now.
  const committed = [videoFile, posterFile, chainFile];
  await storage.removeJobOutputs(jobId, (name) => isRunOutput(name) && !committed.includes(name));
  await deps.publish({
    type: "succeeded",
    jobId,
    videoUrl: jobVideoUrl(jobId),
    posterUrl: jobPosterUrl(jobId),
    seed: result.seed,
    timings,
  });
  deps.log(`job ${jobId}: succeeded in ${Object.values(splitTimings(timings).phases).reduce((a, b) => a + b, 0).toFixed(1)} s`);
}

/** How long a run whose commit failed keeps asking the database what became of it, and how often. */
const COMMIT_CHECK_MS = 10 * 60_000;
const COMMIT_CHECK_EVERY_MS = 1000;

/**
 * The commit of a success failed (the database did not answer, e.g. this worker was cut off): it may or
 * may not have landed. Ask the row once the database answers again: our attempt succeeded with our video
 * → it landed; still ours and running → it did not: throw, so that BullMQ retries the job; anything else
 * (taken over by a later attempt, canceled, deleted) → not committed, and our files go.
 */
async function commitLanded(deps: OutcomeDeps, jobId: string, videoFile: string, error: unknown): Promise<boolean> {
  deps.log(`job ${jobId}: the commit of attempt ${deps.fence.attempt} failed (${errorText(error)}); asking the database what became of it`);
  const deadline = Date.now() + COMMIT_CHECK_MS;
  for (;;) {
    try {
      const now = await deps.db.job.findUnique({ where: { id: jobId }, select: { status: true, attempts: true, videoFile: true } });
      if (now?.attempts !== deps.fence.attempt) return false;
      if (now.status === "succeeded" && now.videoFile === videoFile) return true;
      if (now.status === "running") throw error;
      return false;
    } catch (e) {
      if (e === error || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, COMMIT_CHECK_EVERY_MS));
    }
  }
}

/**
 * A run finished but the row moved on meanwhile: its own attempt's outputs go in every case (no other
 * run uses their names); deleted → the whole folder; taken over by a later attempt → fenced, logged.
 */
async function discardOutputs(deps: OutcomeDeps, jobId: string, names: string[]): Promise<void> {
  await deps.storage.removeJobOutputs(jobId, names);
  const now = await deps.db.job.findUnique({ where: { id: jobId }, select: { status: true } });
  if (!now) {
    await deps.storage.removeJobFiles(jobId);
    deps.log(`job ${jobId}: finished after it was deleted; removed its files`);
    return;
  }
  const takenOver = await deps.fence.takenOverBy();
  if (takenOver) {
    deps.fence.lose(takenOver);
    deps.log(deps.fence.fencedLine());
  } else {
    deps.log(`job ${jobId}: finished after it was ${now.status}; removed its outputs`);
  }
}
