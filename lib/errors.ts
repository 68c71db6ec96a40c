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

export const notFound = (what: string) => new StudioError("not_found", `${what} was not found`);
