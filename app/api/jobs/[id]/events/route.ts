import { jobEventStream } from "@/lib/http/job-events";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export const GET = handle(async (request: Request, { params }: { params: Promise<{ id: string }> }) => {
  return jobEventStream(studio(), request, (await params).id);
});

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
