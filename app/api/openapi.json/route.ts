import { openApiDocument } from "@/lib/http/openapi";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-static";

export function GET() {
  return Response.json(openApiDocument());
}

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
