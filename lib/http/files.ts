/**
 * Serving stored files (videos, posters, previews, uploads) the way browsers expect: byte ranges for
 * seeking in a <video> (206 Partial Content, 416 when the range lies outside the file), an ETag with
 * conditional requests (304), and streaming from disk rather than reading the file into memory.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { notFound } from "../errors.ts";
import { errorJson } from "./errors.ts";

const CONTENT_TYPES: Record<string, string> = {
  ".mp4": "video/mp4",
  ".mov": "video/quicktime",
  ".webm": "video/webm",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".webp": "image/webp",
};

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
}

export type ByteRange = { start: number; end: number };

/**
 * The range a `Range` header asks for within a file of `size` bytes: a range, "unsatisfiable", or
 * undefined to send the whole file (no header, a syntax this server ignores, or several ranges — the
 * standard lets a server answer those with the full representation).
 */
export function parseRange(header: string | null, size: number): ByteRange | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    // bytes=-N: the last N bytes.
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

export type ServeOptions = {
  contentType?: string;
  /** Default: revalidate every time (the ETag makes that cheap). */
  cacheControl?: string;
};

export async function serveFile(request: Request, file: string, options: ServeOptions = {}): Promise<Response> {
  let info;
  try {
    info = await stat(file);
  } catch {
    throw notFound("file");
  }
  if (!info.isFile()) throw notFound("file");
  const size = info.size;
  const etag = `"${size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const headers = new Headers({
    "Content-Type": options.contentType ?? contentTypeOf(file),
    "Accept-Ranges": "bytes",
    ETag: etag,
    "Last-Modified": info.mtime.toUTCString(),
    "Cache-Control": options.cacheControl ?? "no-cache",
    "X-Content-Type-Options": "nosniff",
  });

  const ifNoneMatch = request.headers.get("if-none-match");
  if (ifNoneMatch && ifNoneMatch.split(",").some((t) => t.trim() === etag || t.trim() === "*")) {
    return new Response(null, { status: 304, headers });
  }
  // If-Range: only honour the range when the client's copy is this version of the file.
  const ifRange = request.headers.get("if-range");
  const range = ifRange && ifRange !== etag ? undefined : parseRange(request.headers.get("range"), size);
  if (range === "unsatisfiable") {
    headers.set("Content-Range", `bytes */${size}`);
    headers.delete("Content-Type");
    return errorJson(416, "range_not_satisfiable", `the range starts past the end of the file (${size} bytes)`, "range", headers);
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const length = size === 0 ? 0 : end - start + 1;
  // Next 16 removes Content-Length from route handler answers (send-response.js sends them chunked);
  // it is set for any other host of this function, and Content-Range carries the size for seeking.
  headers.set("Content-Length", String(length));
  if (range) headers.set("Content-Range", `bytes ${start}-${end}/${size}`);
  const status = range ? 206 : 200;
  if (request.method === "HEAD" || length === 0) return new Response(null, { status, headers });
  const stream = Readable.toWeb(createReadStream(file, { start, end })) as ReadableStream<Uint8Array>;
  return new Response(stream, { status, headers });
}
