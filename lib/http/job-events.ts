/**
 * The two event streams of the API. A stream starts with a "snapshot" (the job, or the jobs still
 * queued or running) and then relays events as they happen. The listener is registered before the
 * snapshot is read, and events that arrive meanwhile are sent right after it, so nothing falls between
 * the snapshot and the live events.
 */
import { withoutServerPaths } from "../errors.ts";
import { getJob } from "../jobs/actions.ts";
import { listJobs } from "../jobs/list.ts";
import type { EventHub, Hub } from "../queue/event-hub.ts";
import type { JobsContext } from "../jobs/context.ts";
import { eventStream, type SseChannel } from "./sse.ts";

type Ctx = JobsContext & { hub: EventHub };

/** An event as a client sees it: a failure's text without the server paths it may name (as in the job JSON). */
function shown<E extends { type: string }>(event: E): E {
  const error = (event as { error?: unknown }).error;
  return event.type === "failed" && typeof error === "string" ? { ...event, error: withoutServerPaths(error) } : event;
}

/** Also the model installs' stream (lib/http/install-events.ts): events are named by their `type`. */
export async function relay<E extends { type: string }>(
  hub: Hub<E>,
  channel: SseChannel,
  wanted: (event: E) => boolean,
  snapshot: () => Promise<unknown>,
): Promise<() => void> {
  let live = false;
  const early: E[] = [];
  const stop = await hub.listen((event) => {
    if (!wanted(event)) return;
    if (live) channel.send(event.type, shown(event));
    else early.push(event);
  });
  try {
    channel.send("snapshot", await snapshot());
  } catch (e) {
    stop();
    throw e;
  }
  live = true;
  for (const event of early) channel.send(event.type, shown(event));
  return stop;
}

/** GET /api/jobs/:id/events. Throws (404) before streaming when the job does not exist. */
export async function jobEventStream(ctx: Ctx, request: Request, jobId: string): Promise<Response> {
  await getJob(ctx, jobId);
  return eventStream(request, (channel) => relay(ctx.hub, channel, (e) => "jobId" in e && e.jobId === jobId, () => getJob(ctx, jobId)));
}

/** GET /api/events: every job's events; the snapshot lists the jobs queued or running. */
export function allEventsStream(ctx: Ctx, request: Request): Response {
  return eventStream(request, (channel) =>
    relay(ctx.hub, channel, () => true, async () => ({ jobs: (await listJobs(ctx, { status: "queued,running", limit: "100" })).jobs })),
  );
}
