import { handle } from "@/lib/http/errors";
import { otherMethods } from "@/lib/http/unrouted";
import { listWorkers } from "@/lib/queue/worker-registry";
import { studio } from "@/lib/server/studio";

export const dynamic = "force-dynamic";

/** The live workers (each refreshes its entry every few seconds; a dead one expires): the workers panel. */
export const GET = handle(async () => Response.json({ workers: await listWorkers(studio().redis, studio().redisPrefix) }));

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
