/**
 * The two event streams of the API. A stream starts with a "snapshot" (the job, or the jobs still
 * queued or running) and then relays events as they happen. The listener is registered before the
 * snapshot is read, and events that arrive meanwhile are sent right after it, so nothing falls between
 * the snapshot and the live events.
 */
import { getJob } from "../jobs/actions.ts";
import { listJobs } from "../jobs/list.ts";
import type { ChannelEvent } from "../queue/events.ts";
import type { EventHub } from "../queue/event-hub.ts";
import type { JobsContext } from "../jobs/context.ts";
import { eventStream, type SseChannel } from "./sse.ts";

type Ctx = JobsContext & { hub: EventHub };

async function relay(
  ctx: Ctx,
  channel: SseChannel,
  wanted: (event: ChannelEvent) => boolean,
  snapshot: () => Promise<unknown>,
): Promise<() => void> {
  let live = false;
  const early: ChannelEvent[] = [];
  const stop = await ctx.hub.listen((event) => {
    if (!wanted(event)) return;
    if (live) channel.send(event.type, event);
    else early.push(event);
  });
  try {
    channel.send("snapshot", await snapshot());
  } catch (e) {
    stop();
    throw e;
  }
  live = true;
  for (const event of early) channel.send(event.type, event);
  return stop;
}

/** GET /api/jobs/:id/events. Throws (404) before streaming when the job does not exist. */
export async function jobEventStream(ctx: Ctx, request: Request, jobId: string): Promise<Response> {
  await getJob(ctx, jobId);
  return eventStream(request, (channel) => relay(ctx, channel, (e) => "jobId" in e && e.jobId === jobId, () => getJob(ctx, jobId)));
}

/** GET /api/events: every job's events; the snapshot lists the jobs queued or running. */
export function allEventsStream(ctx: Ctx, request: Request): Response {
  return eventStream(request, (channel) =>
    relay(ctx, channel, () => true, async () => ({ jobs: (await listJobs(ctx, { status: "queued,running", limit: "100" })).jobs })),
  );
}
