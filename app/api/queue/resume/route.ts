import { resumeQueue } from "@/lib/jobs/queue-control";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";

export const dynamic = "force-dynamic";

export const POST = handle(async () => Response.json(await resumeQueue(studio())));
