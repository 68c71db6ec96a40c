/**
 * Reading request bodies with a size limit: a declared Content-Length over the limit is refused before
 * reading, and a body without one (chunked) is counted as it arrives and cut off at the limit, so a
 * client can never make the server buffer more than the limit.
 */
import { StudioError } from "../errors.ts";

export const JSON_BODY_LIMIT = 64 * 1024;

/** What a refusal over the limit says: by default the body's size; an upload names its file's limit. */
export type TooLarge = { message: string; field: string };

function bodyTooLarge(limit: number): TooLarge {
  const size = limit >= 1024 * 1024 ? `${Math.round(limit / 1024 / 1024)} MB` : `${Math.round(limit / 1024)} KB`;
  return { message: `the request body is larger than ${size}`, field: "body" };
}

export async function readBodyBytes(request: Request, limit: number, over: TooLarge = bodyTooLarge(limit)): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = () => new StudioError("too_large", over.message, over.field);
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function mediaType(request: Request): string {
  return (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

/** The JSON body; 415 unless it is declared as JSON, 413 over the limit, 400 when it does not parse. */
export async function readJson(request: Request, limit = JSON_BODY_LIMIT): Promise<unknown> {
  const type = mediaType(request);
  if (type !== "application/json" && !type.endsWith("+json")) {
    throw new StudioError("unsupported_media_type", "send the body as application/json", "content-type");
  }
  const bytes = await readBodyBytes(request, limit);
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new StudioError("invalid_request", "the body is not valid JSON", "body");
  }
}

/** A multipart/form-data body, size-limited; 415 for any other content type. */
export async function readForm(request: Request, limit: number, over?: TooLarge): Promise<FormData> {
  const contentType = request.headers.get("content-type") ?? "";
  if (mediaType(request) !== "multipart/form-data") {
    throw new StudioError("unsupported_media_type", "send the file as multipart/form-data (field \"file\")", "content-type");
  }
  const bytes = await readBodyBytes(request, limit, over);
  try {
    return await new Response(bytes, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw new StudioError("invalid_request", "the multipart body cannot be parsed", "body");
  }
}

/**
 * The JSON body of a request whose body is optional (e.g. POST /api/jobs/:id/continue): no body at all
 * (nothing sent, no content type) is `{}`; anything sent must be JSON as for readJson.
 */
export async function readOptionalJson(request: Request, limit = JSON_BODY_LIMIT): Promise<unknown> {
  if (mediaType(request) === "") {
    const bytes = await readBodyBytes(request, limit);
    if (bytes.byteLength === 0) return {};
    throw new StudioError("unsupported_media_type", "send the body as application/json", "content-type");
  }
  return await readJson(request, limit);
}
