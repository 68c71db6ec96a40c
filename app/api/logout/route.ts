import { isHttps, sessionCookie } from "@/lib/http/auth";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export function POST(request: Request) {
  return new Response(null, { status: 204, headers: { "Set-Cookie": sessionCookie(null, isHttps(request)) } });
}

export const { GET, PUT, PATCH, DELETE } = otherMethods("POST");
