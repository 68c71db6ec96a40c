/**
 * The worker's part of continuing a clip (lib/jobs/continue.ts creates the job):
 *
 * - before the engine runs: the previous part's last frame, decoded with ffmpeg from its MP4 at the
 *   size the model rendered, is written as this job's start frame (a PNG in its folder) and handed to
 *   the engine as the input image, as an uploaded image would be. The engine never learns it is a
 *   continuation. The chain so far (the previous part's joined video, or its video when it is the first
 *   part) is hard-linked into this job's folder at the same time, so deleting the previous part while
 *   this one runs takes nothing away from it.
 * - once the engine has succeeded: the chain so far followed by this part without its first frame
 *   (lib/video/join.ts) becomes this job's chain.mp4, written atomically.
 */
import { existsSync } from "node:fs";
import { copyFile, link, rm } from "node:fs/promises";
import type { Db, JobRow } from "../db/client.ts";
import type { RunFiles, Storage } from "../storage/storage.ts";
import { joinClips, writeLastFramePng } from "../video/join.ts";

export type ContinuationInput = {
  /** The previous part's last frame (PNG): the engine's input image. */
  startFrame: string;
  /** This job's link to the chain so far, joined with its video once it has succeeded. */
  head: string;
};

/** A hard link when the file system allows (same DATA_DIR), else a copy. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await rm(to, { force: true });
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

/** `files`: the names of this run's attempt (storage.ts attemptFiles), so a stale attempt never touches them. */
export async function prepareContinuation(db: Db, storage: Storage, row: JobRow, files: Pick<RunFiles, "chainHead" | "startFrame">): Promise<ContinuationInput> {
  const previousId = row.continuesJobId;
  const previous = previousId ? await db.job.findUnique({ where: { id: previousId } }) : null;
  if (!previous) throw new Error("the clip this job continues was deleted before the job ran");
  const video = previous.status === "succeeded" && previous.videoFile ? storage.jobFile(previous.id, previous.videoFile) : null;
  if (!video || !existsSync(video)) throw new Error(`the video of job ${previous.id}, which this job continues, is no longer in storage`);
  const chain = previous.chainFile ? storage.jobFile(previous.id, previous.chainFile) : null;

  const head = storage.jobFile(row.id, files.chainHead);
  await linkOrCopy(chain && existsSync(chain) ? chain : video, head);
  const startFrame = storage.jobFile(row.id, files.startFrame);
  await writeLastFramePng(video, startFrame);
  return { startFrame, head };
}

/** Writes the job's chain video (`chainFile`) from the chain so far and its finished video; returns the seconds it took. */
export async function writeChain(storage: Storage, jobId: string, input: ContinuationInput, videoFile: string, chainFile: string): Promise<number> {
  const started = performance.now();
  await joinClips({ head: input.head, tail: storage.jobFile(jobId, videoFile), file: storage.jobFile(jobId, chainFile) });
  await Promise.all([rm(input.head, { force: true }), rm(input.startFrame, { force: true })]);
  return (performance.now() - started) / 1000;
}
