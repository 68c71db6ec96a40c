import { cancelJob } from "@/lib/jobs/actions";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";

export const dynamic = "force-dynamic";

export const POST = handle(async (_request: Request, { params }: { params: Promise<{ id: string }> }) => {
  return Response.json(await cancelJob(studio(), (await params).id));
});
