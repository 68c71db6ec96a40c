/**
 * Access control with one shared secret (STUDIO_TOKEN): API clients send `Authorization: Bearer
 * <token>`, browsers get an HttpOnly cookie from POST /api/login. The cookie holds an HMAC of the token,
 * not the token, so a leaked cookie does not reveal the secret, and changing the token logs everyone
 * out. Comparisons are constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const SESSION_COOKIE = "studio_session";
export const SESSION_MAX_AGE_S = 30 * 24 * 3600;

/** Paths reachable without credentials: the login page and the calls that log in and out. */
export const PUBLIC_PATHS = new Set(["/login", "/api/login", "/api/logout"]);

/** Equal strings in time independent of where they differ (hashing first makes the lengths equal). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}

export function sessionValue(token: string): string {
  return createHmac("sha256", token).update("wan-studio session v1").digest("base64url");
}

export type Credentials = { authorization: string | null; cookie: string | undefined };

export function isAuthorized(credentials: Credentials, token: string): boolean {
  const bearer = /^Bearer\s+(.+)$/i.exec(credentials.authorization ?? "")?.[1]?.trim();
  if (bearer !== undefined && safeEqual(bearer, token)) return true;
  return credentials.cookie !== undefined && safeEqual(credentials.cookie, sessionValue(token));
}

/** The Set-Cookie value that logs a browser in (or out, with `value` null). */
export function sessionCookie(value: string | null, secure: boolean): string {
  const parts = [
    `${SESSION_COOKIE}=${value ?? ""}`,
    "Path=/",
    "HttpOnly",
    // Lax: sent when following a link to the studio, not with cross-site POSTs (no CSRF through the cookie).
    "SameSite=Lax",
    `Max-Age=${value === null ? 0 : SESSION_MAX_AGE_S}`,
  ];
  if (secure) parts.push("Secure");
  return parts.join("; ");
}

/** Whether the browser reached us over HTTPS (directly or through a proxy that says so). */
export function isHttps(request: Request): boolean {
  const forwarded = request.headers.get("x-forwarded-proto");
  if (forwarded) return forwarded.split(",")[0].trim() === "https";
  return new URL(request.url).protocol === "https:";
}

/** One cookie's value from a Cookie header. */
export function cookieValue(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
