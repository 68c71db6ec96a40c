import { isHttps, sessionCookie } from "@/lib/http/auth";

export const dynamic = "force-dynamic";

export function POST(request: Request) {
  return new Response(null, { status: 204, headers: { "Set-Cookie": sessionCookie(null, isHttps(request)) } });
}
