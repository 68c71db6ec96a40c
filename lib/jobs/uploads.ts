/**
 * Upload intake for image-to-video and video-to-video. Nothing a client claims is trusted: the format
 * comes from the file's first bytes, images are decoded by sharp (pixel cap, EXIF orientation applied,
 * re-encoded in their own format so no metadata is kept and a photo stays photo-sized), videos are probed by ffprobe with
 * every frame counted (headers can lie) and must fit the limits before anything else reads them. The
 * stored names are generated; the client's file name is kept for display only.
 */
import { rename, rm, writeFile } from "node:fs/promises";
import sharp, { type Metadata, type OutputInfo, type Sharp } from "sharp";
import { notFound, StudioError } from "../errors.ts";
import type { Db, UploadRow } from "../db/client.ts";
import { isValidId, newId } from "../storage/ids.ts";
import type { Storage, UploadExtension } from "../storage/storage.ts";
import { temporarySiblingPath, writeFileAtomically } from "../video/atomic-file.ts";
import { decodeVideoFrames } from "../video/decode.ts";
import { writePoster } from "../video/poster.ts";
import { probeVideo, type VideoProbe } from "../video/probe.ts";
import { uploadJson } from "./job-json.ts";
import { UPLOAD_LIMITS } from "./limits.ts";
import type { UploadJson } from "./schemas.ts";


type Sniffed =
  | { kind: "image"; format: "png" | "jpeg" | "webp" }
  | { kind: "video"; ext: Extract<UploadExtension, "mp4" | "mov" | "webm">; mime: string };

const ascii = (bytes: Uint8Array, start: number, end: number) => Buffer.from(bytes.subarray(start, end)).toString("latin1");

/** The file's format from its leading bytes (its "magic number"), or undefined for anything else. */
export function sniffMedia(head: Uint8Array): Sniffed | undefined {
  if (head.length >= 8 && ascii(head, 0, 8) === "\x89PNG\r\n\x1a\n") return { kind: "image", format: "png" };
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return { kind: "image", format: "jpeg" };
  if (head.length >= 12 && ascii(head, 0, 4) === "RIFF" && ascii(head, 8, 12) === "WEBP") return { kind: "image", format: "webp" };
  if (head.length >= 12 && ascii(head, 4, 8) === "ftyp") {
    return ascii(head, 8, 12) === "qt  "
      ? { kind: "video", ext: "mov", mime: "video/quicktime" }
      : { kind: "video", ext: "mp4", mime: "video/mp4" };
  }
  // Old QuickTime files start with a plain atom instead of ftyp.
  if (head.length >= 8 && ["moov", "mdat", "wide", "free"].includes(ascii(head, 4, 8))) {
    return { kind: "video", ext: "mov", mime: "video/quicktime" };
  }
  if (head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
    return { kind: "video", ext: "webm", mime: "video/webm" };
  }
  return undefined;
}

/** The client's file name, reduced to something safe to show: no folders, no control characters. */
export function displayName(name: string | undefined): string {
  const base = (name ?? "").split(/[/\\]/).pop() ?? "";
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, "").trim().slice(0, 200);
  return clean || "upload";
}

function fitInside(width: number, height: number, side: number): { width: number; height: number } {
  const scale = Math.min(1, side / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

export type UploadedFile = { data: Uint8Array; name?: string };

export async function intakeUpload(ctx: { db: Db; storage: Storage }, file: UploadedFile): Promise<UploadJson> {
  if (file.data.byteLength === 0) throw new StudioError("invalid_request", "the file is empty", "file");
  if (file.data.byteLength > UPLOAD_LIMITS.maxBytes) {
    throw new StudioError("too_large", `the file is larger than ${UPLOAD_LIMITS.maxBytes / 1024 / 1024} MB`, "file");
  }
  const sniffed = sniffMedia(file.data.subarray(0, 16));
  if (!sniffed) {
    throw new StudioError(
      "unsupported_media_type",
      "the file is not a PNG, JPEG or WebP image, nor an MP4, MOV or WebM video",
      "file",
    );
  }
  await ctx.storage.ensureUploadsDir();
  const id = newId();
  const originalName = displayName(file.name);
  const row = sniffed.kind === "image" ? await intakeImage(ctx, id, file.data, originalName, sniffed.format) : await intakeVideo(ctx, id, file.data, originalName, sniffed);
  return uploadJson(row);
}

/**
 * How a stored image is written: in the format it came in. A PNG stays lossless; a JPEG or WebP photo is
 * encoded once more at a quality the model cannot tell apart (it sees the picture at ≤ 832 px, and
 * camera JPEGs already subsample colour 4:2:0), because a large photo stored as PNG grows about tenfold.
 */
const STORED_IMAGE = {
  png: { ext: "png", mime: "image/png", encode: (image: Sharp) => image.png() },
  jpeg: { ext: "jpg", mime: "image/jpeg", encode: (image: Sharp) => image.jpeg({ quality: 92, mozjpeg: true }) },
  webp: { ext: "webp", mime: "image/webp", encode: (image: Sharp) => image.webp({ quality: 92 }) },
} as const;

async function intakeImage(
  ctx: { db: Db; storage: Storage },
  id: string,
  data: Uint8Array,
  originalName: string,
  format: keyof typeof STORED_IMAGE,
): Promise<UploadRow> {
  const { storage } = ctx;
  let meta: Metadata;
  try {
    // The header only, whatever size it claims: the pixel cap below answers an oversized one with 422.
    meta = await sharp(data, { limitInputPixels: false }).metadata();
  } catch {
    throw new StudioError("invalid_request", `the ${format.toUpperCase()} image is damaged: its header cannot be read`, "file");
  }
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > UPLOAD_LIMITS.maxImagePixels) {
    throw new StudioError(
      "unprocessable",
      `the image is ${meta.width}x${meta.height} (${(pixels / 1e6).toFixed(1)} MP); the limit is ${UPLOAD_LIMITS.maxImagePixels / 1e6} MP`,
      "file",
    );
  }
  const stored = STORED_IMAGE[format];
  let image: Buffer;
  let info: OutputInfo;
  try {
    // The default failOn ("warning") is sharp's advice for untrusted input: truncated or corrupt
    // images are refused rather than half decoded. Transparency is flattened onto white: the model
    // sees RGB only.
    ({ data: image, info } = await stored
      .encode(sharp(data, { limitInputPixels: UPLOAD_LIMITS.maxImagePixels, autoOrient: true }).flatten({ background: "#ffffff" }).toColourspace("srgb"))
      .toBuffer({ resolveWithObject: true }));
  } catch {
    // libvips' own words ("vipspng: libpng read error") name its internals, not the problem.
    throw new StudioError("invalid_request", `the ${format.toUpperCase()} image is damaged or cut short: it cannot be decoded`, "file");
  }
  const fileName = storage.uploadFileName(id, stored.ext);
  const thumbName = storage.uploadThumbName(id);
  const thumb = await sharp(image)
    .resize({ width: UPLOAD_LIMITS.thumbnailSide, height: UPLOAD_LIMITS.thumbnailSide, fit: "inside", withoutEnlargement: true })
    .jpeg({ quality: 80, mozjpeg: true })
    .toBuffer();
  await writeFileAtomically(storage.uploadPath(id, fileName), image);
  await writeFileAtomically(storage.uploadPath(id, thumbName), thumb);
  return await record(ctx, {
    id,
    kind: "image",
    mime: stored.mime,
    originalName,
    bytes: image.length,
    width: info.width,
    height: info.height,
    file: fileName,
    thumbFile: thumbName,
  });
}

async function intakeVideo(
  ctx: { db: Db; storage: Storage },
  id: string,
  data: Uint8Array,
  originalName: string,
  sniffed: Extract<Sniffed, { kind: "video" }>,
): Promise<UploadRow> {
  const { storage } = ctx;
  const fileName = storage.uploadFileName(id, sniffed.ext);
  const thumbName = storage.uploadThumbName(id);
  const finalPath = storage.uploadPath(id, fileName);
  // ffprobe reads files, so the video goes to disk first, under a temporary name nothing serves.
  const temporary = temporarySiblingPath(finalPath);
  await writeFile(temporary, data);
  try {
    let probe: VideoProbe;
    try {
      probe = await probeVideo(temporary, { countFrames: true });
    } catch {
      // ffprobe's words name the temporary file on the server, so they stay out of the answer.
      throw new StudioError("invalid_request", "the video cannot be read: it is damaged, cut short or has no video track", "file");
    }
    checkVideoLimits(probe);
    const size = fitInside(probe.width, probe.height, UPLOAD_LIMITS.thumbnailSide);
    let first: Uint8Array | undefined;
    try {
      for await (const frame of decodeVideoFrames(temporary, { ...size, maxFrames: 1 })) first = frame;
    } catch {
      throw new StudioError("invalid_request", "the video cannot be decoded: its frames are damaged", "file");
    }
    if (!first) throw new StudioError("invalid_request", "the video has no frame that can be decoded", "file");
    await writePoster(first, size.width, size.height, storage.uploadPath(id, thumbName), { format: "jpeg" });
    await rename(temporary, finalPath);
    return await record(ctx, {
      id,
      kind: "video",
      mime: sniffed.mime,
      originalName,
      bytes: data.byteLength,
      width: probe.width,
      height: probe.height,
      frames: probe.frames,
      fps: probe.fps,
      file: fileName,
      thumbFile: thumbName,
    });
  } catch (e) {
    await rm(temporary, { force: true });
    await storage.removeUploadFiles(id, [fileName, thumbName]).catch(() => {});
    throw e;
  }
}

function checkVideoLimits(probe: VideoProbe): void {
  const { maxVideoSeconds, maxVideoSide, maxVideoFrames } = UPLOAD_LIMITS;
  const problems: string[] = [];
  // Half a frame of slack: containers round durations.
  if (probe.durationS > maxVideoSeconds + 0.5 / probe.fps) problems.push(`${probe.durationS.toFixed(2)} s long (limit ${maxVideoSeconds} s)`);
  if (Math.max(probe.width, probe.height) > maxVideoSide) problems.push(`${probe.width}x${probe.height} (limit ${maxVideoSide} px per side)`);
  if (probe.frames > maxVideoFrames) problems.push(`${probe.frames} frames (limit ${maxVideoFrames})`);
  if (probe.frames < 1) problems.push("without frames");
  if (problems.length) throw new StudioError("unprocessable", `the video is ${problems.join(", ")}`, "file");
}

async function record(ctx: { db: Db; storage: Storage }, data: Omit<UploadRow, "createdAt" | "frames" | "fps"> & { frames?: number; fps?: number }): Promise<UploadRow> {
  try {
    return await ctx.db.upload.create({ data });
  } catch (e) {
    await ctx.storage.removeUploadFiles(data.id, [data.file, ...(data.thumbFile ? [data.thumbFile] : [])]).catch(() => {});
    throw e;
  }
}

export async function getUpload(db: Db, id: string): Promise<UploadRow> {
  const row = isValidId(id) ? await db.upload.findUnique({ where: { id } }) : null;
  if (!row) throw notFound(`upload ${id}`);
  return row;
}
