/**
 * Cancellation: a run checks its AbortSignal between units of work and rejects with a CanceledError. The
 * engine, the worker and the CLI recognise a cancel with the one test below, whichever part noticed it
 * first (our own check, or ffmpeg/fetch-style code that rejects with an AbortError).
 */
export class CanceledError extends Error {
  constructor() {
    super("canceled");
    this.name = "CanceledError";
  }
}

export function throwIfCanceled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CanceledError();
}

/** True for the error a canceled run rejects with. */
export function isCancellation(error: unknown): boolean {
  return error instanceof Error && (error.name === "CanceledError" || error.name === "AbortError");
}
