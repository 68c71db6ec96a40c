/**
 * Exactly once under partitions: fencing one run of a job by its attempt number.
 *
 * A worker that loses Redis mid-job keeps computing; after its BullMQ lock lapses another worker takes the
 * job over (a new attempt). When the first one comes back, nothing it writes may count. So every write a
 * run makes after its claim is fenced:
 * - Database: the claim makes the attempt number unique (attempts + 1, conditional on the attempts it
 *   read), and every later write of the run (progress, seed, preview, the outcome) is conditional on the
 *   row still being "running" with this attempt (`owned`). The database is where the run commits.
 * - Files: a run writes its video and poster under names of its own attempt (storage.ts attemptFiles) and
 *   the committed row names them. We commit the attempt-specific name instead of renaming to a fixed name
 *   after the commit: a rename after the commit leaves a window where the row says "succeeded" and no file
 *   is there (and a crash in it loses the video for good), and a rename before it lets a stale run replace
 *   the winner's file. With names per attempt a stale run can only ever touch its own files, which it
 *   removes when its commit is refused. The preview (one fixed name, never authoritative) is renamed into
 *   place only after a fenced write said the run still owns the job.
 * - Events: progress, preview and "started" are published by a Redis script that checks the BullMQ lock
 *   still holds this run's token in the same step (events.ts publishEventWhileLocked), so a run that lost
 *   its lock goes silent at once; end events follow a successful fenced commit. Every event of a run
 *   carries its attempt, so a client can ignore an older attempt's stragglers.
 * A run that finds itself fenced (a refused write or publish, and the row shows another attempt) aborts its
 * engine, discards its outputs, records nothing, and logs `job X: fenced: …`. A refused publish while the
 * row still shows this attempt (the lock lapsed, nobody took over yet) only drops that event.
 */
import type { Db } from "../db/client.ts";

/** The row, while this run owns it: a Prisma `where` for every write of the run. */
export type OwnedRow = { id: string; status: "running"; attempts: number };

export type RunFence = {
  readonly jobId: string;
  readonly attempt: number;
  readonly owned: OwnedRow;
  /** Set once the run learnt it no longer owns the job: why (for the log line). */
  readonly lostBecause: string | undefined;
  /** Records the loss (first reason wins) and aborts the run. */
  lose(reason: string): void;
  /**
   * After a fenced write that changed no row: looks at the row and, when another attempt owns it, loses.
   * (A canceled or deleted row is not a loss of ownership: the cancel channel handles it.)
   */
  confirm(changed: number): Promise<void>;
  /** Looks at the row after a refused outcome: the reason when another attempt owns it, else undefined. */
  takenOverBy(): Promise<string | undefined>;
  /** The log line of a fenced run. */
  fencedLine(): string;
};

export function createRunFence(opts: { db: Db; jobId: string; attempt: number; abort: (reason: Error) => void }): RunFence {
  const { db, jobId, attempt } = opts;
  let lostBecause: string | undefined;

  const takenOverBy = async (): Promise<string | undefined> => {
    const row = await db.job.findUnique({ where: { id: jobId }, select: { attempts: true, workerId: true, status: true } });
    if (!row || row.attempts === attempt) return undefined;
    return `attempt ${attempt} was taken over by attempt ${row.attempts} (worker ${row.workerId ?? "unknown"}, now ${row.status})`;
  };

  const fence: RunFence = {
    jobId,
    attempt,
    owned: { id: jobId, status: "running", attempts: attempt },
    get lostBecause() {
      return lostBecause;
    },
    lose(reason) {
      if (lostBecause) return;
      lostBecause = reason;
      opts.abort(new FencedError(reason));
    },
    async confirm(changed) {
      if (changed > 0 || lostBecause) return;
      const reason = await takenOverBy();
      if (reason) fence.lose(reason);
    },
    takenOverBy,
    fencedLine: () => `job ${jobId}: fenced: ${lostBecause ?? `attempt ${attempt} lost the job`}; discarded its outputs`,
  };
  return fence;
}

/** The abort reason of a fenced run: its engine stops, and nothing of it is recorded. */
export class FencedError extends Error {
  constructor(reason: string) {
    super(`fenced: ${reason}`);
    this.name = "FencedError";
  }
}
