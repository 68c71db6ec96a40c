import { retryJob } from "@/lib/jobs/actions";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export const POST = handle(async (_request: Request, { params }: { params: Promise<{ id: string }> }) => {
  const job = await retryJob(studio(), (await params).id);
  return Response.json(job, { status: 201, headers: { Location: `/api/jobs/${job.id}` } });
});

export const { GET, PUT, PATCH, DELETE } = otherMethods("POST");
