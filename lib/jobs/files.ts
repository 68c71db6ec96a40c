/**
 * Which file on disk answers a job's or an upload's file URL. A job's video and poster exist for
 * clients only once the job has succeeded (the engine may still be writing them before that); its
 * preview as soon as the worker has published one. Names come from the database, never from the URL.
 */
import { notFound } from "../errors.ts";
import { isValidId } from "../storage/ids.ts";
import type { JobsContext } from "./context.ts";
import { getUpload } from "./uploads.ts";

export type JobFileKind = "video" | "poster" | "preview" | "chain";

export async function jobFilePath(ctx: JobsContext, jobId: string, kind: JobFileKind): Promise<string> {
  const row = isValidId(jobId) ? await ctx.db.job.findUnique({ where: { id: jobId } }) : null;
  if (!row) throw notFound(`job ${jobId}`);
  const finished = { video: row.videoFile, poster: row.posterFile, chain: row.chainFile } as const;
  const name = kind === "preview" ? row.previewFile : row.status === "succeeded" ? finished[kind] : null;
  if (!name) throw notFound(`the ${kind} of job ${jobId}`);
  return ctx.storage.jobFile(jobId, name);
}

export async function uploadFilePath(ctx: JobsContext, uploadId: string, kind: "file" | "thumbnail"): Promise<string> {
  const row = await getUpload(ctx.db, uploadId);
  const name = kind === "file" ? row.file : row.thumbFile;
  if (!name) throw notFound(`the ${kind} of upload ${uploadId}`);
  return ctx.storage.uploadPath(row.id, name);
}
