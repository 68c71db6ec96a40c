import { moveJob } from "@/lib/jobs/queue-control";
import { moveRequestSchema } from "@/lib/jobs/queue-schemas";
import { readJson } from "@/lib/http/body";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";

export const dynamic = "force-dynamic";

export const POST = handle(async (request: Request, { params }: { params: Promise<{ id: string }> }) => {
  const { direction } = moveRequestSchema.parse(await readJson(request));
  return Response.json(await moveJob(studio(), (await params).id, direction));
});
