import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";
import { listWebhookDeliveries } from "@/lib/webhooks/deliveries";

export const dynamic = "force-dynamic";

export const GET = handle(async (_request: Request, { params }: { params: Promise<{ id: string }> }) => {
  return Response.json(await listWebhookDeliveries(studio(), (await params).id));
});
