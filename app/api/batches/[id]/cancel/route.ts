import { cancelBatch } from "@/lib/jobs/batches";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export const POST = handle(async (_request: Request, { params }: { params: Promise<{ id: string }> }) => {
  return Response.json(await cancelBatch(studio(), (await params).id));
});

export const { GET, PUT, PATCH, DELETE } = otherMethods("POST");
