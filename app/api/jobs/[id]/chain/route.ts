import { jobFilePath } from "@/lib/jobs/files";
import { serveFile } from "@/lib/http/files";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export const GET = handle(async (request: Request, { params }: { params: Promise<{ id: string }> }) => {
  const file = await jobFilePath(studio(), (await params).id, "chain");
  return serveFile(request, file, { cacheControl: "private, max-age=3600" });
});

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
