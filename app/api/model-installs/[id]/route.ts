import { handle } from "@/lib/http/errors";
import { getInstall } from "@/lib/model-library/install-queue";
import { installs } from "@/lib/server/installs";

export const dynamic = "force-dynamic";

export const GET = handle(async (_request: Request, { params }: { params: Promise<{ id: string }> }) => {
  return Response.json(await getInstall(installs().queue, (await params).id));
});
