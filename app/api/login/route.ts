import { config } from "@/lib/config";
import { StudioError } from "@/lib/errors";
import { cookieValue, isAuthorized, isHttps, safeEqual, SESSION_COOKIE, sessionCookie, sessionValue } from "@/lib/http/auth";
import { readJson } from "@/lib/http/body";
import { handle } from "@/lib/http/errors";
import { loginRequestSchema } from "@/lib/jobs/schemas";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

/** Whether this studio asks for a token, and whether the caller already has access (for the login page). */
export const GET = handle(async (request: Request) => {
  const token = config().studioToken;
  const cookie = cookieValue(request.headers.get("cookie"), SESSION_COOKIE);
  const authenticated = !token || isAuthorized({ authorization: request.headers.get("authorization"), cookie }, token);
  return Response.json({ authRequired: Boolean(token), authenticated });
});

/** Exchanges the token for the session cookie. */
export const POST = handle(async (request: Request) => {
  const { token: given } = loginRequestSchema.parse(await readJson(request, 4096));
  const token = config().studioToken;
  if (!token) return Response.json({ authRequired: false, authenticated: true });
  if (!safeEqual(given, token)) throw new StudioError("unauthorized", "the token is not right", "token");
  return Response.json(
    { authRequired: true, authenticated: true },
    { headers: { "Set-Cookie": sessionCookie(sessionValue(token), isHttps(request)) } },
  );
});

export const { PUT, PATCH, DELETE } = otherMethods("GET", "POST");
