/**
 * GET /api/model-installs/events: the installs on record as a "snapshot", then every `install` event (the
 * whole install, with its progress) as it happens — the same relay the jobs' streams use.
 */
import { listInstalls } from "../model-library/install-queue.ts";
import type { Installs } from "../server/installs.ts";
import { relay } from "./job-events.ts";
import { eventStream } from "./sse.ts";

export function installEventStream(installs: Installs, request: Request): Response {
  return eventStream(request, (channel) => relay(installs.hub, channel, () => true, async () => ({ installs: await listInstalls(installs.queue) })));
}
