import { continueJob } from "@/lib/jobs/continue";
import { readOptionalJson } from "@/lib/http/body";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export const POST = handle(async (request: Request, { params }: { params: Promise<{ id: string }> }) => {
  const job = await continueJob(studio(), (await params).id, await readOptionalJson(request));
  return Response.json(job, { status: 201, headers: { Location: `/api/jobs/${job.id}` } });
});

export const { GET, PUT, PATCH, DELETE } = otherMethods("POST");
