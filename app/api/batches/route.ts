import { createBatch } from "@/lib/jobs/batches";
import { readJson } from "@/lib/http/body";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export const POST = handle(async (request: Request) => {
  const batch = await createBatch(studio(), await readJson(request));
  return Response.json(batch, { status: 201, headers: { Location: `/api/batches/${batch.id}` } });
});

export const { GET, PUT, PATCH, DELETE } = otherMethods("POST");
