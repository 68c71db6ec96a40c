import { deleteBatch, getBatch } from "@/lib/jobs/batches";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

type Params = { params: Promise<{ id: string }> };

export const GET = handle(async (_request: Request, { params }: Params) => {
  return Response.json(await getBatch(studio(), (await params).id));
});

export const DELETE = handle(async (_request: Request, { params }: Params) => {
  await deleteBatch(studio(), (await params).id);
  return new Response(null, { status: 204 });
});

export const { POST, PUT, PATCH } = otherMethods("GET", "DELETE");
