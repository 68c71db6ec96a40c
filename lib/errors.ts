/**
 * Errors the studio reports to its callers: each carries the HTTP status, a stable machine-readable code
 * and, for input problems, the field at fault. The service layer throws them; the API turns them into
 * `{ "error": { code, message, field? } }` (lib/http/errors.ts); the CLI and worker print the message.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class StudioError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "StudioError";
    this.status = ERROR_STATUS[code];
  }
}

/** Text from a request quoted in a message, cut short: an answer never echoes a 5000-character id. */
export function quoted(value: string, max = 80): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/** 404 for something named in the URL (`field`: the path parameter, "id" for a job's or an upload's). */
export const notFound = (what: string, field = "id") => new StudioError("not_found", `${quoted(what)} was not found`, field);

// An absolute POSIX path of two or more parts, after a start, space, quote, bracket or "=".
const SERVER_PATH = /(^|[\s"'`([=])\/(?:[^\s/"'`]+\/)+([^\s/"'`,;:)\]]*)/g;

/**
 * A message from ffmpeg, ONNX Runtime or the file system, fit to show to a client: every absolute path
 * in it is cut to its last part ("…/data/jobs/<id>/.video.partial.mp4" → ".video.partial.mp4"), which
 * still says which file it was without telling how the server's disk is laid out.
 */
export function withoutServerPaths(message: string): string {
  return message.replace(SERVER_PATH, (_path, before: string, last: string) => `${before}${last || "…"}`);
}
