import { checkHealth } from "@/lib/health/health";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export async function GET() {
  const health = await checkHealth();
  return Response.json(health, { status: health.status === "ok" ? 200 : 503 });
}

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
