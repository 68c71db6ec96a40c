/**
 * The one way the API reports an error: `{ "error": { code, message, field? } }` with the matching
 * status. Bad input is always a 4xx naming the field at fault; only the studio's own failures are 500s,
 * and those say no more than "internal error" to the client (the details go to the server log).
 */
import { z } from "zod";
import { StudioError } from "../errors.ts";
import { InvalidPathError } from "../storage/storage.ts";

export function errorJson(status: number, code: string, message: string, field?: string, headers?: HeadersInit): Response {
  return Response.json({ error: { code, message, ...(field ? { field } : {}) } }, { status, headers });
}

/** The field a zod issue is about, as a dotted path ("body" when it is about the whole body). */
function issueField(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys" && issue.keys.length) return [...issue.path.map(String), issue.keys[0]].join(".");
  return issue.path.map(String).join(".") || "body";
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown field${issue.keys.length > 1 ? "s" : ""}: ${issue.keys.join(", ")}`;
  return issue.message;
}

export function errorResponse(error: unknown, log: (line: string) => void = console.error): Response {
  if (error instanceof StudioError) return errorJson(error.status, error.code, error.message, error.field);
  if (error instanceof z.ZodError) {
    const issue = error.issues[0];
    return errorJson(400, "invalid_request", issueMessage(issue), issueField(issue));
  }
  if (error instanceof InvalidPathError) return errorJson(404, "not_found", "not found", "id");
  log(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return errorJson(500, "internal", "internal error (see the server log)");
}

/** Wraps a route handler so every thrown error becomes the JSON error shape. */
export function handle<A extends unknown[]>(fn: (...args: A) => Promise<Response>): (...args: A) => Promise<Response> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (error) {
      return errorResponse(error);
    }
  };
}
