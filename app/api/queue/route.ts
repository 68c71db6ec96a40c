import { getQueueState } from "@/lib/jobs/queue-control";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";

export const dynamic = "force-dynamic";

export const GET = handle(async () => Response.json(await getQueueState(studio())));
