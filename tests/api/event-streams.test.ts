/**
 * The event streams below the HTTP layer: one Redis subscription per server process, shared by all
 * streams; a client that goes away (request aborted, or the body stream canceled) is removed from it,
 * and events published meanwhile are relayed only to the streams that want them.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createJob } from "../../lib/jobs/create.ts";
import { allEventsStream, jobEventStream } from "../../lib/http/job-events.ts";
import { createEventHub, type EventHub } from "../../lib/queue/event-hub.ts";
import { publishEvent } from "../../lib/queue/events.ts";
import { createTestJobsContext, tinyRequest, waitFor, type TestJobsContext } from "../helpers/jobs-context.ts";
import { takeSseEvents } from "./helpers.ts";

let ctx: TestJobsContext & { hub: EventHub };
beforeAll(async () => {
  const base = await createTestJobsContext({ redisUrl: inject("redisUrl"), redisDb: 11, prefix: "event-streams" });
  ctx = { ...base, hub: createEventHub(base.redis, base.redisPrefix) };
});
afterAll(async () => {
  await ctx?.hub.close();
  await ctx?.close();
});

type StreamEvent = { event: string; data: { type?: string; jobId?: string; id?: string } };

async function nextEvents(reader: ReadableStreamDefaultReader<string>, count: number): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  let buffer = "";
  while (out.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    const taken = takeSseEvents(buffer + value);
    out.push(...(taken.events as StreamEvent[]));
    buffer = taken.rest;
  }
  return out;
}

describe("event streams", () => {
  it("share one subscription, filter per job, and let go of clients that leave", async () => {
    const job = await createJob(ctx, tinyRequest());
    const other = await createJob(ctx, tinyRequest());
    const aborter = new AbortController();
    const one = await jobEventStream(ctx, new Request("http://studio/x", { signal: aborter.signal }), job.id);
    const all = allEventsStream(ctx, new Request("http://studio/y"));
    const oneReader = one.body!.pipeThrough(new TextDecoderStream()).getReader();
    const allReader = all.body!.pipeThrough(new TextDecoderStream()).getReader();

    expect((await nextEvents(oneReader, 1))[0]).toMatchObject({ event: "snapshot", data: { id: job.id } });
    expect((await nextEvents(allReader, 1))[0].event).toBe("snapshot");
    expect(ctx.hub.size).toBe(2);

    await publishEvent(ctx.redis, ctx.redisPrefix, { type: "canceled", jobId: other.id });
    await publishEvent(ctx.redis, ctx.redisPrefix, { type: "canceled", jobId: job.id });
    expect((await nextEvents(oneReader, 1)).map((e) => e.data.jobId)).toEqual([job.id]);
    expect((await nextEvents(allReader, 2)).map((e) => e.data.jobId)).toEqual([other.id, job.id]);

    // The browser tab closes: the request is aborted.
    aborter.abort();
    await waitFor("the job stream to let go", () => (ctx.hub.size === 1 ? true : undefined));
    // The client stops reading: the response stream is canceled.
    await allReader.cancel();
    await waitFor("the all-jobs stream to let go", () => (ctx.hub.size === 0 ? true : undefined));
  });
});
