/**
 * Access control for every page and API route (Next 16's proxy, formerly middleware). When STUDIO_TOKEN
 * is set — which the configuration requires whenever the server listens beyond loopback — a request
 * needs the bearer token or the session cookie; pages without it go to /login, API calls get a 401.
 * Before that, addresses Next cannot route (bad percent-encoding, dot segments) get a clear answer.
 */
import { NextResponse, type NextRequest } from "next/server";
import { config as studioConfig } from "./lib/config.ts";
import { isAuthorized, PUBLIC_PATHS, SESSION_COOKIE } from "./lib/http/auth.ts";
import { errorJson } from "./lib/http/errors.ts";
import { refuseUnroutablePath } from "./lib/http/unrouted.ts";

export function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  const unroutable = refuseUnroutablePath(pathname);
  if (unroutable) return unroutable;
  const token = studioConfig().studioToken;
  if (!token) return NextResponse.next();
  if (PUBLIC_PATHS.has(pathname)) return NextResponse.next();
  const credentials = { authorization: request.headers.get("authorization"), cookie: request.cookies.get(SESSION_COOKIE)?.value };
  if (isAuthorized(credentials, token)) return NextResponse.next();
  if (pathname.startsWith("/api/")) {
    return errorJson(401, "unauthorized", "log in first: send Authorization: Bearer <STUDIO_TOKEN>, or POST /api/login", "authorization", {
      "WWW-Authenticate": 'Bearer realm="wan-studio"',
    });
  }
  const login = new URL("/login", request.url);
  login.searchParams.set("next", pathname + search);
  return NextResponse.redirect(login);
}

export const config = {
  // Everything except Next's static assets and public/'s icons and manifest, which carry no data (the
  // login page shows them before anyone has signed in).
  matcher: ["/((?!_next/static|_next/image|favicon\\.ico|icon\\.svg|icon-[a-z0-9-]+\\.png|apple-touch-icon\\.png|site\\.webmanifest).*)"],
};
