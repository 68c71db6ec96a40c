import { setJobPriority } from "@/lib/jobs/queue-control";
import { priorityRequestSchema } from "@/lib/jobs/queue-schemas";
import { readJson } from "@/lib/http/body";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";

export const dynamic = "force-dynamic";

export const POST = handle(async (request: Request, { params }: { params: Promise<{ id: string }> }) => {
  const { priority } = priorityRequestSchema.parse(await readJson(request));
  return Response.json(await setJobPriority(studio(), (await params).id, priority));
});
