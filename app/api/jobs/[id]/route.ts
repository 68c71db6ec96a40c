import { deleteJob, getJob } from "@/lib/jobs/actions";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

type Params = { params: Promise<{ id: string }> };

export const GET = handle(async (_request: Request, { params }: Params) => {
  return Response.json(await getJob(studio(), (await params).id));
});

export const DELETE = handle(async (_request: Request, { params }: Params) => {
  await deleteJob(studio(), (await params).id);
  return new Response(null, { status: 204 });
});

export const { POST, PUT, PATCH } = otherMethods("GET", "DELETE");
