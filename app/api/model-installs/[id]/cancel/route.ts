import { handle } from "@/lib/http/errors";
import { cancelInstall } from "@/lib/model-library/install-queue";
import { installs } from "@/lib/server/installs";
import { studio } from "@/lib/server/studio";

export const dynamic = "force-dynamic";

export const POST = handle(async (_request: Request, { params }: { params: Promise<{ id: string }> }) => {
  return Response.json(await cancelInstall(installs().queue, studio().redis, (await params).id));
});
