import { uploadJson } from "@/lib/jobs/job-json";
import { getUpload } from "@/lib/jobs/uploads";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export const GET = handle(async (_request: Request, { params }: { params: Promise<{ id: string }> }) => {
  return Response.json(uploadJson(await getUpload(studio().db, (await params).id)));
});

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
