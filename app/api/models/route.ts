import { listModels } from "@/lib/jobs/model-catalog";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export const GET = handle(async () => {
  const ctx = studio();
  return Response.json(await listModels(ctx.modelsDir, ctx.log));
});

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
