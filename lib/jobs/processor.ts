/**
 * The worker side of a job: what one BullMQ delivery of a studio job does.
 *
 * 1. Load the job row. Gone (deleted) or no longer queued/running (canceled while waiting): skip.
 * 2. Claim it: status "running", attempts + 1, this worker's id — in one conditional update, so a
 *    cancel that lands first wins. A row already "running" is a recovery after a crashed worker.
 * 3. Run the engine with an AbortController that the cancel channel (and BullMQ's own signal) aborts.
 *    Every progress and preview is published at once; the row is updated at most once a second.
 * 4. Record the outcome with timings. Engine errors and cancels throw UnrecoverableError, so BullMQ
 *    does not retry them; anything else thrown here (the database or Redis failing) is a crash and is
 *    retried, as is a worker that dies mid-job (its lock expires and another worker takes the job).
 *
 * The engine publishes its files by temp-file + rename; whatever a failed, canceled or crashed run
 * left behind is removed, and the video is only ever served once the row says "succeeded".
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { UnrecoverableError, type Job as QueueJob, type Processor } from "bullmq";
import type { Redis } from "ioredis";
import type { Db, JobRow, UploadRow } from "../db/client.ts";
import type { GenerationJob, GenerationProgress, GenerationResult, RunGeneration } from "../engine/generation.ts";
import { subscribeCancel } from "../queue/cancel.ts";
import { publishEvent } from "../queue/events.ts";
import { ditCallTimings, splitTimings } from "../schemas/dit-calls.ts";
import type { GenerateJobData } from "../queue/generate-queue.ts";
import { isValidId } from "../storage/ids.ts";
import { isSafeFileName, JOB_FILES, type Storage } from "../storage/storage.ts";
import { writeFileAtomically } from "../video/atomic-file.ts";
import { overallProgress } from "./progress.ts";
import { createThrottle } from "./throttle.ts";
import { jobPosterUrl, jobPreviewUrl, jobVideoUrl } from "./urls.ts";

export type JobProcessorOptions = {
  db: Db;
  /** For publishing; the cancel subscription uses a duplicate of it. */
  redis: Redis;
  storage: Storage;
  runGeneration: RunGeneration;
  workerId: string;
  log?: (line: string) => void;
  /** Minimum time between progress writes to the database (default 1000 ms). */
  progressWriteMs?: number;
};

export type JobProcessor = {
  /** The BullMQ processor function. */
  process: Processor<GenerateJobData, void>;
  /** Aborts the job if this process runs it; true if it did. */
  cancel(jobId: string): boolean;
  /** Ids of the jobs running in this process. */
  running(): string[];
  /** Stops listening for cancels (running jobs are left to the worker's own shutdown). */
  close(): Promise<void>;
};

/** The longest error text kept on a job; an engine error's first lines say what went wrong. */
const MAX_ERROR_CHARS = 2000;

function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > MAX_ERROR_CHARS ? `${message.slice(0, MAX_ERROR_CHARS)}…` : message;
}

function isCancel(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (error instanceof Error && error.name === "CanceledError");
}

/** Seconds spent per phase, measured from the engine's progress reports (kept for failed runs too). */
function phaseClock() {
  const timings: Record<string, number> = {};
  let current: { phase: string; since: number } | undefined;
  const close = (now: number) => {
    if (current) timings[current.phase] = (timings[current.phase] ?? 0) + (now - current.since) / 1000;
  };
  return {
    enter(phase: string) {
      if (current?.phase === phase) return;
      const now = performance.now();
      close(now);
      current = { phase, since: now };
    },
    finish(): Record<string, number> {
      close(performance.now());
      current = undefined;
      return Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
    },
  };
}

export async function createJobProcessor(opts: JobProcessorOptions): Promise<JobProcessor> {
  const { db, redis, storage, runGeneration, workerId } = opts;
  const log = opts.log ?? (() => {});
  const progressWriteMs = opts.progressWriteMs ?? 1000;
  const controllers = new Map<string, AbortController>();

  const cancel = (jobId: string): boolean => {
    const controller = controllers.get(jobId);
    if (!controller) return false;
    controller.abort();
    return true;
  };
  const stopListening = await subscribeCancel(redis, (jobId) => {
    if (cancel(jobId)) log(`job ${jobId}: cancel requested`);
  });

  const publish = (event: Parameters<typeof publishEvent>[1]) =>
    publishEvent(redis, event).catch((e) => log(`publishing ${event.type} for ${event.jobId} failed: ${errorText(e)}`));

  async function run(queueJob: QueueJob<GenerateJobData>, bullSignal?: AbortSignal): Promise<void> {
    const jobId = queueJob.data?.jobId;
    if (!isValidId(jobId) || jobId !== queueJob.id) throw new UnrecoverableError(`not a studio job: ${queueJob.id}`);

    const row = await db.job.findUnique({ where: { id: jobId } });
    if (!row || (row.status !== "queued" && row.status !== "running")) {
      log(`job ${jobId}: skipped (${row ? row.status : "deleted"})`);
      return;
    }
    const recovering = row.status === "running";
    const claimed = await db.job.updateMany({
      where: { id: jobId, status: { in: ["queued", "running"] } },
      data: {
        status: "running",
        attempts: { increment: 1 },
        workerId,
        startedAt: new Date(),
        finishedAt: null,
        phase: "load",
        step: 0,
        totalSteps: 0,
        etaS: null,
        error: null,
      },
    });
    if (claimed.count === 0) {
      log(`job ${jobId}: skipped (canceled or deleted as it started)`);
      return;
    }

    const controller = new AbortController();
    controllers.set(jobId, controller);
    const onBullAbort = () => controller.abort();
    bullSignal?.addEventListener("abort", onBullAbort, { once: true });
    try {
      // A cancel published between the claim and the registration above reached no controller; the
      // row tells.
      const now = await db.job.findUnique({ where: { id: jobId }, select: { status: true } });
      if (now?.status !== "running") controller.abort();

      // A crashed earlier attempt may have left a temporary file, or even a finished video that was
      // never recorded: this run writes its own.
      const outputDir = await storage.ensureJobDir(jobId);
      const leftovers = await storage.removeJobOutputs(jobId, [JOB_FILES.video, JOB_FILES.poster]);
      if (recovering || leftovers.length) {
        log(`job ${jobId}: attempt ${row.attempts + 1}${leftovers.length ? `, removed ${leftovers.join(", ")}` : ""}`);
      }
      if (!controller.signal.aborted) await publish({ type: "started", jobId, attempt: row.attempts + 1, workerId });

      const input = row.inputUploadId ? await db.upload.findUnique({ where: { id: row.inputUploadId } }) : null;
      await execute(row, input, outputDir, controller.signal);
    } finally {
      controllers.delete(jobId);
      bullSignal?.removeEventListener("abort", onBullAbort);
    }
  }

  async function execute(row: JobRow, input: UploadRow | null, outputDir: string, signal: AbortSignal): Promise<void> {
    const jobId = row.id;
    const clock = phaseClock();
    clock.enter("load");

    const progressWriter = createThrottle<GenerationProgress>(
      async (p) => {
        await db.job.updateMany({
          where: { id: jobId, status: "running" },
          data: { phase: p.phase, step: p.step, totalSteps: p.total, etaS: p.etaS },
        });
      },
      progressWriteMs,
      (e) => log(`job ${jobId}: progress write failed: ${errorText(e)}`),
    );

    // Previews: only the newest one matters, so a slow disk drops intermediate ones instead of queueing them.
    let nextPreview: { data: Buffer; step: number } | undefined;
    let previewLoop: Promise<void> | undefined;
    let previewRecorded = false;
    const writePreviews = async () => {
      while (nextPreview) {
        const { data, step } = nextPreview;
        nextPreview = undefined;
        try {
          await writeFileAtomically(storage.jobFile(jobId, JOB_FILES.preview), data);
          if (!previewRecorded) {
            previewRecorded = true;
            await db.job.updateMany({ where: { id: jobId }, data: { previewFile: JOB_FILES.preview } });
          }
          await publish({ type: "preview", jobId, url: jobPreviewUrl(jobId, step), step });
        } catch (e) {
          log(`job ${jobId}: preview write failed: ${errorText(e)}`);
        }
      }
      previewLoop = undefined;
    };

    let seedWrite: Promise<unknown> = Promise.resolve();
    const job: GenerationJob = {
      id: jobId,
      kind: row.kind as GenerationJob["kind"],
      params: JSON.parse(row.params) as Record<string, unknown>,
      model: row.model,
      negativePrompt: row.negativePrompt,
      input: input
        ? { kind: input.kind as "image" | "video", file: storage.uploadPath(input.id, input.file) }
        : undefined,
    };

    let result: GenerationResult | undefined;
    let failure: unknown;
    try {
      if (row.kind !== "t2v" && !input) throw new Error("the input upload of this job no longer exists");
      // Name the upload, not the server path, when its file is gone (e.g. removed from shared storage).
      if (job.input && !existsSync(job.input.file)) throw new Error(`the file of input upload ${input!.id} is missing from storage`);
      signal.throwIfAborted();
      result = await runGeneration(job, {
        outputDir,
        signal,
        onProgress(p) {
          clock.enter(p.phase);
          progressWriter.push(p);
          void publish({
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
        onPreview(webp, step) {
          nextPreview = { data: Buffer.from(webp), step };
          previewLoop ??= writePreviews();
        },
        onSeed(seed) {
          seedWrite = db.job
            .updateMany({ where: { id: jobId }, data: { seed: BigInt(seed) } })
            .catch((e) => log(`job ${jobId}: seed write failed: ${errorText(e)}`));
        },
      });
      checkResult(result, jobId);
    } catch (error) {
      failure = error;
    } finally {
      // The outcome written below supersedes any progress still waiting.
      await progressWriter.stop();
      await previewLoop;
      await seedWrite;
    }
    const timings = { ...clock.finish(), ...(result?.timings ?? {}), ...(result?.ditCalls ? ditCallTimings(result.ditCalls) : {}) };

    if (failure !== undefined || !result) {
      await storage.removeJobOutputs(jobId, [JOB_FILES.video, JOB_FILES.poster]);
      if (isCancel(failure, signal)) {
        await finishCanceled(jobId, timings);
        throw new UnrecoverableError("canceled");
      }
      const message = errorText(failure);
      const marked = await db.job.updateMany({
        where: { id: jobId, status: "running" },
        data: { status: "failed", error: message, finishedAt: new Date(), timings: JSON.stringify(timings), etaS: null },
      });
      if (marked.count) await publish({ type: "failed", jobId, error: message });
      log(`job ${jobId}: failed: ${message.split("\n")[0]}`);
      throw new UnrecoverableError(message);
    }

    const videoFile = path.basename(result.videoFile);
    const posterFile = path.basename(result.posterFile);
    const done = await db.job.updateMany({
      where: { id: jobId, status: "running", workerId },
      data: {
        status: "succeeded",
        videoFile,
        posterFile,
        seed: BigInt(result.seed),
        timings: JSON.stringify(timings),
        finishedAt: new Date(),
        etaS: null,
        error: null,
      },
    });
    if (done.count === 0) {
      await discardOutputs(jobId, [videoFile, posterFile]);
      return;
    }
    // Temporary files of an earlier crashed attempt may have been finished by its orphaned encoder.
    await storage.removeJobOutputs(jobId, []);
    await publish({
      type: "succeeded",
      jobId,
      videoUrl: jobVideoUrl(jobId),
      posterUrl: jobPosterUrl(jobId),
      seed: result.seed,
      timings,
    });
    log(`job ${jobId}: succeeded in ${Object.values(splitTimings(timings).phases).reduce((a, b) => a + b, 0).toFixed(1)} s`);
  }

  /** The engine must name plain files it published in the job's folder. */
  function checkResult(result: GenerationResult, jobId: string): void {
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

  async function finishCanceled(jobId: string, timings: Record<string, number>): Promise<void> {
    const data = { timings: JSON.stringify(timings), etaS: null };
    const marked = await db.job.updateMany({
      where: { id: jobId, status: "running" },
      data: { ...data, status: "canceled", finishedAt: new Date() },
    });
    if (marked.count) {
      await publish({ type: "canceled", jobId });
    } else {
      // The API marked it canceled already (and told the clients); add what only the worker knows.
      await db.job.updateMany({ where: { id: jobId, status: "canceled" }, data });
    }
    log(`job ${jobId}: canceled`);
  }

  /** A run finished but the row moved on meanwhile: deleted → remove everything; canceled → its outputs. */
  async function discardOutputs(jobId: string, names: string[]): Promise<void> {
    const now = await db.job.findUnique({ where: { id: jobId }, select: { status: true } });
    if (!now) {
      await storage.removeJobFiles(jobId);
      log(`job ${jobId}: finished after it was deleted; removed its files`);
    } else if (now.status === "canceled") {
      await storage.removeJobOutputs(jobId, names);
      log(`job ${jobId}: finished after it was canceled; removed its outputs`);
    }
    // Otherwise another worker owns the job now (this one lost its lock); its outcome stands.
  }

  const process: Processor<GenerateJobData, void> = async (queueJob, _token, signal) => {
    try {
      await run(queueJob, signal);
    } catch (error) {
      if (error instanceof UnrecoverableError) throw error;
      // Not the engine: the database, Redis or the disk failed. BullMQ retries; the row says so.
      const attempts = queueJob.opts.attempts ?? 1;
      const final = queueJob.attemptsMade + 1 >= attempts;
      const message = `the worker failed: ${errorText(error)}`;
      log(`job ${queueJob.id}: ${message}${final ? "" : " (will retry)"}`);
      if (isValidId(queueJob.id)) {
        await db.job
          .updateMany({
            where: { id: queueJob.id, status: "running", workerId },
            data: final
              ? { status: "failed", error: message, finishedAt: new Date(), etaS: null }
              : { status: "queued", phase: null, etaS: null },
          })
          .then(async (r) => {
            if (r.count && final) await publish({ type: "failed", jobId: queueJob.id!, error: message });
          })
          .catch(() => {});
      }
      throw error;
    }
  };

  return {
    process,
    cancel,
    running: () => [...controllers.keys()],
    close: stopListening,
  };
}

