import { handle } from "@/lib/http/errors";
import { readJson } from "@/lib/http/body";
import { installedModels } from "@/lib/model-library/installed";
import { enqueueInstall, listInstalls } from "@/lib/model-library/install-queue";
import { installs } from "@/lib/server/installs";
import { studio } from "@/lib/server/studio";

export const dynamic = "force-dynamic";

export const GET = handle(async () => Response.json({ installs: await listInstalls(installs().queue) }));

export const POST = handle(async (request: Request) => {
  const ctx = studio();
  const body = await readJson(request);
  const install = await enqueueInstall(installs().queue, ctx.redis, body, (name) => installedModels(ctx.modelsDir).includes(name));
  return Response.json(install, { status: 202, headers: { Location: `/api/model-installs/${install.id}` } });
});
