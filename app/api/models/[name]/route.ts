import { handle } from "@/lib/http/errors";
import { readJson } from "@/lib/http/body";
import { deleteModel, updateModel } from "@/lib/model-library/manage";
import { studio } from "@/lib/server/studio";

export const dynamic = "force-dynamic";

type Params = { params: Promise<{ name: string }> };

export const PATCH = handle(async (request: Request, { params }: Params) => {
  return Response.json(await updateModel(studio(), (await params).name, await readJson(request)));
});

export const DELETE = handle(async (_request: Request, { params }: Params) => {
  await deleteModel(studio(), (await params).name);
  return new Response(null, { status: 204 });
});
