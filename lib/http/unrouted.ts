/**
 * The JSON answers for requests no route handler takes: a method the route lacks (405, with Allow), an
 * /api/… path that names no route (404), and an address Next cannot route at all — bad percent-encoding
 * (Next answers 500) or a "." / ".." segment (Next resolves it to a page and answers its HTML 404).
 * Next's own answers are an empty body, plain text or HTML, which an API client cannot read.
 */
import { errorJson } from "./errors.ts";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
type Method = (typeof METHODS)[number];
type Handler = () => Response;

/**
 * Handlers for every method a route does not implement, to export beside its own:
 * `export const { PUT, PATCH, DELETE } = otherMethods("GET", "POST")`.
 */
export function otherMethods<const Allowed extends Method>(...allowed: Allowed[]): Record<Exclude<Method, Allowed>, Handler> {
  const allow = allowed.join(", ");
  const refuse: Handler = () => errorJson(405, "method_not_allowed", `this address answers ${allowed.join(" and ")} only`, "method", { Allow: allow });
  const others = METHODS.filter((m) => !(allowed as Method[]).includes(m));
  return Object.fromEntries(others.map((m) => [m, refuse])) as Record<Exclude<Method, Allowed>, Handler>;
}

/** Every method of an /api/… path that matches no route. */
export function unknownApiPath(): Response {
  return errorJson(404, "not_found", "no API route has this address (see /api/openapi.json)", "path");
}

/**
 * The answer for an address no route should ever see, or undefined to let routing go on. Called by the
 * proxy (proxy.ts), which sees the address before Next decodes and resolves it.
 */
export function refuseUnroutablePath(pathname: string): Response | undefined {
  let segments: string[];
  try {
    segments = pathname.split("/").map(decodeURIComponent);
  } catch {
    return pathname.startsWith("/api")
      ? errorJson(400, "invalid_request", "the address is not valid percent-encoding", "path")
      : new Response("Bad request: the address is not valid percent-encoding\n", { status: 400, headers: { "Content-Type": "text/plain" } });
  }
  if (pathname.startsWith("/api") && segments.some((s) => s === "." || s === ".." || s.includes("/") || s.includes("\0"))) return unknownApiPath();
  return undefined;
}
