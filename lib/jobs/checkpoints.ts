/**
 * The worker's side of denoising checkpoints (the engine's: lib/engine/checkpoint.ts). Every
 * CHECKPOINT_EVERY_STEPS steps, and when a drain asks (`request`), the running job's checkpoint is written
 * atomically to `checkpoint.bin` in its folder under the shared storage root, so whichever worker takes the job
 * after a crash continues from it, on this host or another. The engine decides whether a stored checkpoint
 * fits the job (fingerprint); here it is only read, written and removed: removed when the job ends, when it is
 * deleted (with its folder) or retried. A write that fails is logged; the job goes on.
 */
import { readFile, rm } from "node:fs/promises";
import type { Db } from "../db/client.ts";
import type { CheckpointHooks, GenerationPhase } from "../engine/generation.ts";
import { JOB_FILES, type Storage } from "../storage/storage.ts";
import { writeFileAtomically } from "../video/atomic-file.ts";
import { errorText } from "./outcome.ts";

export type JobCheckpointsOptions = {
  storage: Storage;
  jobId: string;
  /** CHECKPOINT_EVERY_STEPS: 0 writes none by count (a drain's request is still answered). */
  every: number;
  log(line: string): void;
};

/** One running job's checkpoints: its engine hooks, and the requests of a drain waiting for a fresh one. */
export class JobCheckpoints {
  private denoising = false;
  /** Requests not yet picked up by a finished step. */
  private waiting: (() => void)[] = [];
  /** Requests the checkpoint now being written answers. */
  private answering: (() => void)[] = [];

  constructor(private readonly o: JobCheckpointsOptions) {}

  /**
   * Resolves once this job has written a checkpoint of a step finished after the call, or at once when the
   * job is not denoising (loading, encoding text, decoding: nothing a checkpoint could keep).
   */
  request(): Promise<void> {
    if (!this.denoising) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Follows the engine's phase; leaving the denoising loop answers every waiting request. */
  phase(phase: GenerationPhase): void {
    this.denoising = phase === "denoise";
    if (!this.denoising) this.release();
  }

  /** The job's run is over (whatever the outcome): nobody waits for it any longer. */
  end(): void {
    this.denoising = false;
    this.release();
  }

  /** The engine's hooks for this run; `resumeFrom` is what an earlier attempt stored (see `read`). */
  hooks(extra: Pick<CheckpointHooks, "resumeFrom" | "onResume" | "onIgnored">): CheckpointHooks {
    const { storage, jobId, every, log } = this.o;
    return {
      every,
      requested: () => {
        if (!this.waiting.length) return false;
        this.answering.push(...this.waiting);
        this.waiting = [];
        return true;
      },
      write: async (bytes) => {
        const answered = this.answering;
        this.answering = [];
        try {
          await writeFileAtomically(storage.jobFile(jobId, JOB_FILES.checkpoint), bytes);
        } catch (e) {
          log(`job ${jobId}: checkpoint write failed: ${errorText(e)}`);
        } finally {
          for (const resolve of answered) resolve();
        }
      },
      ...extra,
    };
  }

  private release(): void {
    const all = [...this.answering, ...this.waiting];
    this.answering = [];
    this.waiting = [];
    for (const resolve of all) resolve();
  }
}

/** The checkpoint an earlier attempt left in the job's folder, or undefined when there is none (or it is unreadable). */
export async function readStoredCheckpoint(storage: Storage, jobId: string, log: (line: string) => void): Promise<Uint8Array | undefined> {
  try {
    return await readFile(storage.jobFile(jobId, JOB_FILES.checkpoint));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") log(`job ${jobId}: checkpoint unreadable, starting over: ${errorText(e)}`);
    return undefined;
  }
}

export async function removeStoredCheckpoint(storage: Storage, jobId: string): Promise<void> {
  await rm(storage.jobFile(jobId, JOB_FILES.checkpoint), { force: true });
}

/**
 * Removes the job's checkpoint once its run is over, unless another worker has taken the job over meanwhile
 * (this one lost its lock): that worker's checkpoints are its own.
 */
export async function discardCheckpoint(db: Db, storage: Storage, jobId: string, workerId: string): Promise<void> {
  const row = await db.job.findUnique({ where: { id: jobId }, select: { status: true, workerId: true } });
  if (row?.status === "running" && row.workerId !== workerId) return;
  await removeStoredCheckpoint(storage, jobId);
}
