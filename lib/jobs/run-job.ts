/**
 * Running the engine for one claimed job: the row's parameters and input become a GenerationJob; progress
 * is published at once and written to the row at most once per interval; previews are written (only the
 * newest one when the disk is slow) and announced; the seed is recorded as soon as it is known; denoising
 * checkpoints are written to the job's folder (checkpoints.ts), and an attempt after a crash continues from the
 * one the earlier attempt left, with the seed that attempt drew. Then the outcome is recorded (outcome.ts) and
 * the checkpoint removed. Engine errors and cancels throw UnrecoverableError, so BullMQ does not retry them.
 * Every write is fenced by the run's attempt (fence.ts): a run that finds another attempt owns the job stops,
 * removes its own files and records nothing (its checkpoints stay: they are the same for every attempt, since
 * a checkpoint is a pure function of the job's settings and the step).
 */
import { existsSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { UnrecoverableError } from "bullmq";
import type { JobRow, UploadRow } from "../db/client.ts";
import { isCancellation } from "../engine/cancel.ts";
import type { GenerationJob, GenerationProgress, GenerationResult, RunGeneration } from "../engine/generation.ts";
import { PhaseClock } from "../engine/progress.ts";
import type { StudioEventInput } from "../queue/events.ts";
import { attemptFiles, isAttemptFile, JOB_FILES } from "../storage/storage.ts";
import { temporarySiblingPath } from "../video/atomic-file.ts";
import { mp4FileSink } from "../video/encoder.ts";
import { prepareContinuation, writeChain, type ContinuationInput } from "./chain-run.ts";
import { discardCheckpoint, readStoredCheckpoint, type JobCheckpoints } from "./checkpoints.ts";
import { checkResult, errorText, recordCancel, recordFailure, recordSuccess, type OutcomeDeps } from "./outcome.ts";
import { overallProgress } from "./progress.ts";
import { createThrottle } from "./throttle.ts";
import { jobPreviewUrl } from "./urls.ts";
import { ditCallTimings } from "../schemas/dit-calls.ts";

export type RunJobDeps = OutcomeDeps & {
  runGeneration: RunGeneration;
  /** Minimum time between progress writes to the database. */
  progressWriteMs: number;
  /** Publishes a progress or preview event only while this run holds the job's queue lock (fence.ts). */
  publishWhileOwned(event: StudioEventInput): Promise<unknown>;
};

export async function runJob(
  deps: RunJobDeps,
  row: JobRow,
  input: UploadRow | null,
  outputDir: string,
  signal: AbortSignal,
  checkpoints: JobCheckpoints,
): Promise<void> {
  const { db, storage, log, fence } = deps;
  const jobId = row.id;
  const earlierAttempt = row.attempts > 0;
  const files = attemptFiles(fence.attempt);
  // Seconds per phase from the engine's progress reports, kept for failed and canceled runs too.
  const clock = new PhaseClock();
  clock.start("load");

  const progressWriter = createThrottle<GenerationProgress>(
    async (p) => {
      const written = await db.job.updateMany({
        where: fence.owned,
        data: { phase: p.phase, step: p.step, totalSteps: p.total, etaS: p.etaS },
      });
      await fence.confirm(written.count);
    },
    deps.progressWriteMs,
    (e) => log(`job ${jobId}: progress write failed: ${errorText(e)}`),
  );
  const previews = createPreviewWriter(deps, jobId);

  let seedWrite: Promise<unknown> = Promise.resolve();
  let resumeWrite: Promise<unknown> = Promise.resolve();
  const params = JSON.parse(row.params) as Record<string, unknown>;
  // A random seed an earlier attempt drew stays the job's seed: its checkpoint was made with it.
  if (earlierAttempt && params.seed === undefined && row.seed !== null) params.seed = Number(row.seed);
  const job: GenerationJob = {
    id: jobId,
    kind: row.kind as GenerationJob["kind"],
    params,
    model: row.model,
    negativePrompt: row.negativePrompt,
    input: input ? { kind: input.kind as "image" | "video", file: storage.uploadPath(input.id, input.file) } : undefined,
  };

  let result: GenerationResult | undefined;
  let failure: unknown;
  let continuation: ContinuationInput | undefined;
  let joinS: number | undefined;
  try {
    if (row.chainPart > 1) {
      // A continuation: its input image is the previous part's last frame (chain-run.ts).
      continuation = await prepareContinuation(db, storage, row, files);
      job.input = { kind: "image", file: continuation.startFrame };
    } else if (row.kind !== "t2v" && !input) {
      throw new Error("the input upload of this job no longer exists");
    }
    // Name the upload, not the server path, when its file is gone (e.g. removed from shared storage).
    if (input && job.input && !existsSync(job.input.file)) throw new Error(`the file of input upload ${input!.id} is missing from storage`);
    signal.throwIfAborted();
    const resumeFrom = earlierAttempt ? await readStoredCheckpoint(storage, jobId, log) : undefined;
    result = await deps.runGeneration(job, {
      sink: mp4FileSink(outputDir, files),
      signal,
      checkpoints: checkpoints.hooks({
        resumeFrom,
        onResume(step, total) {
          log(`job ${jobId}: resuming from step ${step}/${total}`);
          resumeWrite = db.job
            .updateMany({ where: { id: jobId, status: "running" }, data: { resumedFromStep: step } })
            .catch((e) => log(`job ${jobId}: resume step write failed: ${errorText(e)}`));
        },
        onIgnored(reason) {
          log(`job ${jobId}: ignoring the stored checkpoint, starting over: ${reason}`);
        },
      }),
      onProgress(p) {
        clock.start(p.phase);
        checkpoints.phase(p.phase);
        progressWriter.push(p);
        void deps.publishWhileOwned({
          type: "progress",
          jobId,
          phase: p.phase,
          step: p.step,
          total: p.total,
          elapsedS: p.elapsedS,
          etaS: p.etaS,
          progress: overallProgress("running", p.phase, p.step, p.total),
        });
      },
      onPreview: previews.push,
      onSeed(seed) {
        seedWrite = db.job
          .updateMany({ where: fence.owned, data: { seed: BigInt(seed) } })
          .then((written) => fence.confirm(written.count))
          .catch((e) => log(`job ${jobId}: seed write failed: ${errorText(e)}`));
      },
    });
    checkResult(storage, jobId, result);
    if (continuation) joinS = await writeChain(storage, jobId, continuation, result.videoFile, files.chain);
  } catch (error) {
    failure = error;
  } finally {
    // The outcome written below supersedes any progress still waiting.
    checkpoints.end();
    await progressWriter.stop();
    await previews.settled();
    await seedWrite;
    await resumeWrite;
  }
  const timings = {
    ...clock.timings(),
    ...(result?.timings ?? {}),
    ...(joinS !== undefined ? { join: joinS } : {}),
    ...(result?.ditCalls ? ditCallTimings(result.ditCalls) : {}),
  };

  // The run is over whatever its outcome: its checkpoint is of use to nobody now (unless another attempt owns the
  // job). Removed before the outcome is recorded, so a finished row never has one beside it.
  if (!fence.lostBecause) {
    await discardCheckpoint(db, storage, jobId, deps.workerId).catch((e) => log(`job ${jobId}: checkpoint removal failed: ${errorText(e)}`));
  }
  if (failure !== undefined || !result || fence.lostBecause) {
    // Only this attempt's files: a later attempt may be writing its own beside them.
    await storage.removeJobOutputs(jobId, (name) => isAttemptFile(fence.attempt, name));
    if (fence.lostBecause) {
      log(fence.fencedLine());
      return;
    }
    if (signal.aborted || isCancellation(failure)) {
      await recordCancel(deps, jobId, timings);
      throw new UnrecoverableError("canceled");
    }
    throw new UnrecoverableError(await recordFailure(deps, jobId, failure, timings));
  }
  await recordSuccess(deps, jobId, result, timings, continuation ? files.chain : null);
}

/**
 * Previews: only the newest one matters, so a slow disk drops intermediate ones instead of queueing them.
 * Each is written to a temporary file and renamed into place only after a fenced write said this attempt
 * still owns the job, so a stale run does not replace a later attempt's preview.
 */
function createPreviewWriter(deps: OutcomeDeps & Pick<RunJobDeps, "publishWhileOwned">, jobId: string) {
  const { db, storage, log, fence } = deps;
  let next: { data: Buffer; step: number } | undefined;
  let loop: Promise<void> | undefined;
  const writeAll = async () => {
    while (next && !fence.lostBecause) {
      const { data, step } = next;
      next = undefined;
      const file = storage.jobFile(jobId, JOB_FILES.preview);
      const temporary = temporarySiblingPath(file);
      try {
        await writeFile(temporary, data);
        const owned = await db.job.updateMany({ where: fence.owned, data: { previewFile: JOB_FILES.preview } });
        await fence.confirm(owned.count);
        if (owned.count === 0) continue;
        await rename(temporary, file);
        await deps.publishWhileOwned({ type: "preview", jobId, url: jobPreviewUrl(jobId, step), step });
      } catch (e) {
        log(`job ${jobId}: preview write failed: ${errorText(e)}`);
      } finally {
        await rm(temporary, { force: true });
      }
    }
    loop = undefined;
  };
  return {
    push(webp: Uint8Array, step: number): void {
      next = { data: Buffer.from(webp), step };
      loop ??= writeAll();
    },
    settled: async (): Promise<void> => {
      await loop;
    },
  };
}
