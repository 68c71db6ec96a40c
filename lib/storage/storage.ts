/**
 * Where the studio keeps files: DATA_DIR/outputs/<jobId>/{video.a1.mp4, poster.a1.jpg, preview.webp, chain.a1.mp4}
 * (names per attempt: attemptFiles) and
 * DATA_DIR/uploads/<uploadId>.<ext> with <uploadId>.thumb.jpg beside it. Every path is built here,
 * only from a validated id and a name from a fixed set (or one the studio itself generated and checks
 * against FILE_NAME), so nothing a client sends can point outside these folders. Writers publish
 * through a temporary sibling and a rename (lib/video/atomic-file.ts), so a reader never sees half a file.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { isPartialFile } from "../video/atomic-file.ts";
import { isValidId } from "./ids.ts";

/**
/**
 * The fixed names inside a job's output folder. A continuation also has its chain's joined video, and
 * while it runs the frame it starts from and its own link to the chain so far (lib/jobs/chain-run.ts).
 * `checkpoint` is the running job's last denoising checkpoint (lib/jobs/checkpoints.ts): in the shared folder
 * so a worker on another host can continue the job.
 */
export const JOB_FILES = {
  video: "video.mp4",
  poster: "poster.jpg",
  preview: "preview.webp",
  chain: "chain.mp4",
  startFrame: "start-frame.png",
  chainHead: "chain-head.mp4",
  checkpoint: "checkpoint.bin",
} as const;

/** What one run writes besides its preview (a continuation: its chain too, and its scratch files). */
export type RunFiles = { video: string; poster: string; chain: string; startFrame: string; chainHead: string };

/**
 * The files one run (attempt n of a job) writes: JOB_FILES' names with `.a<n>` before the extension
 * (`video.a2.mp4`, `poster.a2.jpg`, `chain.a2.mp4`, …). Each attempt has names of its own, so a stale run
 * that lost its job to a later attempt can never overwrite (or remove) the files the later attempt wrote
 * or committed; the row names the files of the attempt that won (lib/jobs/fence.ts).
 */
export function attemptFiles(attempt: number): RunFiles {
  const named = (file: string) => file.replace(/(\.[a-z0-9]+)$/, `.a${attempt}$1`);
  return {
    video: named(JOB_FILES.video),
    poster: named(JOB_FILES.poster),
    chain: named(JOB_FILES.chain),
    startFrame: named(JOB_FILES.startFrame),
    chainHead: named(JOB_FILES.chainHead),
  };
}

/** A file of any run (an attempt's, or the fixed names of runs before attempts had their own). */
const RUN_OUTPUT = /^(video|poster|chain|start-frame|chain-head)(\.a[0-9]+)?\.(mp4|jpg|png)$/;
export const isRunOutput = (name: string): boolean => RUN_OUTPUT.test(name);

/**
 * The files of one attempt, finished or still temporary (atomic-file.ts names a temporary
 * `.video.a<n>.<random>.partial.mp4`). A run that gives up removes only these, never another attempt's
 * file in progress.
 */
export function isAttemptFile(attempt: number, name: string): boolean {
  const mine = Object.values(attemptFiles(attempt));
  if (mine.includes(name)) return true;
  return isPartialFile(name) && mine.some((file) => name.startsWith(`.${file.replace(/\.[a-z0-9]+$/, "")}.`));
}

/** A plain file name the studio generated: no folder, no leading dot (temporary files start with one). */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

export const UPLOAD_EXTENSIONS = ["png", "jpg", "webp", "mp4", "webm", "mov"] as const;
export type UploadExtension = (typeof UPLOAD_EXTENSIONS)[number];

export class InvalidPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidPathError";
  }
}

function checkId(id: string): string {
  if (!isValidId(id)) throw new InvalidPathError(`not a valid id: ${JSON.stringify(id)}`);
  return id;
}

export function isSafeFileName(name: string): boolean {
  return name.length <= 128 && FILE_NAME.test(name);
}

export type Storage = {
  readonly root: string;
  readonly outputsDir: string;
  readonly uploadsDir: string;
  jobDir(jobId: string): string;
  /** A file in a job's folder: one of JOB_FILES, or a name the engine reported (checked, never a path). */
  jobFile(jobId: string, name: string): string;
  ensureJobDir(jobId: string): Promise<string>;
  /** Removes a job's whole output folder. */
  removeJobFiles(jobId: string): Promise<void>;
  /**
   * Removes outputs; returns what it removed. `names`: those names and any leftover temporary files of
   * interrupted writes; or a predicate: exactly the names it accepts.
   */
  removeJobOutputs(jobId: string, names: string[] | ((name: string) => boolean)): Promise<string[]>;
  uploadFileName(uploadId: string, ext: UploadExtension): string;
  uploadThumbName(uploadId: string): string;
  /** A file in the uploads folder by the name stored in the database (checked to belong to `uploadId`). */
  uploadPath(uploadId: string, fileName: string): string;
  ensureUploadsDir(): Promise<string>;
  removeUploadFiles(uploadId: string, fileNames: string[]): Promise<void>;
};

export function createStorage(dataDir: string): Storage {
  const root = path.resolve(dataDir);
  const outputsDir = path.join(root, "outputs");
  const uploadsDir = path.join(root, "uploads");

  const jobDir = (jobId: string) => path.join(outputsDir, checkId(jobId));
  const jobFile = (jobId: string, name: string) => {
    if (!isSafeFileName(name)) throw new InvalidPathError(`not a plain file name: ${JSON.stringify(name)}`);
    return path.join(jobDir(jobId), name);
  };
  const uploadPath = (uploadId: string, fileName: string) => {
    checkId(uploadId);
    // Upload files are always named after their upload: "<id>.<ext>" or "<id>.thumb.jpg".
    if (!isSafeFileName(fileName) || !fileName.startsWith(`${uploadId}.`)) {
      throw new InvalidPathError(`${JSON.stringify(fileName)} is not a file of upload ${uploadId}`);
    }
    return path.join(uploadsDir, fileName);
  };

  return {
    root,
    outputsDir,
    uploadsDir,
    jobDir,
    jobFile,
    async ensureJobDir(jobId) {
      const dir = jobDir(jobId);
      await mkdir(dir, { recursive: true });
      return dir;
    },
    async removeJobFiles(jobId) {
      await rm(jobDir(jobId), { recursive: true, force: true });
    },
    async removeJobOutputs(jobId, names) {
      const dir = jobDir(jobId);
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch {
        return [];
      }
      const doomed = entries.filter(typeof names === "function" ? names : (e) => names.includes(e) || isPartialFile(e));
      await Promise.all(doomed.map((e) => rm(path.join(dir, e), { force: true })));
      return doomed;
    },
    uploadFileName: (uploadId, ext) => `${checkId(uploadId)}.${ext}`,
    uploadThumbName: (uploadId) => `${checkId(uploadId)}.thumb.jpg`,
    uploadPath,
    async ensureUploadsDir() {
      await mkdir(uploadsDir, { recursive: true });
      return uploadsDir;
    },
    async removeUploadFiles(uploadId, fileNames) {
      await Promise.all(fileNames.map((f) => rm(uploadPath(uploadId, f), { force: true })));
    },
  };
}
