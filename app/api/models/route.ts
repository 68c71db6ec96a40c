import { listModels } from "@/lib/jobs/model-catalog";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";

export const dynamic = "force-dynamic";

export const GET = handle(async () => {
  const ctx = studio();
  return Response.json(await listModels(ctx.modelsDir, ctx.log));
});
