/** HTTP helpers for the API tests: a studio to call, JSON calls and a Server-Sent-Events reader. */
import { rmSync } from "node:fs";
import path from "node:path";
import { createRedis } from "../../lib/redis/connection.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { redisDbUrl } from "../helpers/jobs-context.ts";
import { installTinyModel } from "../helpers/models.ts";
import { startStudioProcesses, type StudioProcesses } from "../helpers/studio.ts";

export type ApiStudio = { studio: StudioProcesses; base: string; dataDir: string; stop(): Promise<void> };

/** A studio on the tiny model, on its own (flushed) Redis database; `stop` ends it and removes its data. */
export async function startApiStudio(name: string, redisUrl: string, redisDb: number): Promise<ApiStudio> {
  const dataDir = tempDir(name);
  await installTinyModel(path.join(dataDir, "models"));
  const url = redisDbUrl(redisUrl, redisDb);
  const redis = createRedis(url, `${name}-setup`);
  await redis.flushdb();
  redis.disconnect();
  const studio = await startStudioProcesses({ dataDir, redisUrl: url });
  return {
    studio,
    base: studio.url,
    dataDir,
    async stop() {
      await studio.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
export type JsonAnswer<T = unknown> = { status: number; headers: Headers; body: T };

export async function call<T = unknown>(base: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<JsonAnswer<T>> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set("content-type", "application/json");
  const res = await fetch(base + path, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body, redirect: "manual" });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get("content-type") ?? "").includes("json") && text) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: body as T };
}

export type SseEvent = { event: string; data: unknown };

/** Takes the complete `event:`/`data:` blocks off the front of `buffer`; `rest` is what is still incomplete. */
export function takeSseEvents(buffer: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  let end;
  while ((end = buffer.indexOf("\n\n")) >= 0) {
    const block = buffer.slice(0, end);
    buffer = buffer.slice(end + 2);
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (event && data !== undefined) events.push({ event, data: JSON.parse(data) });
  }
  return { events, rest: buffer };
}

/**
 * Opens an event stream and collects its events until `until` says stop (or the time runs out); the
 * connection is closed afterwards, as a browser tab going away would.
 */
export async function readEvents(
  url: string,
  until: (events: SseEvent[]) => boolean,
  opts: { headers?: HeadersInit; timeoutMs?: number; onOpen?: () => Promise<void> | void } = {},
): Promise<{ status: number; contentType: string | null; events: SseEvent[] }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), opts.timeoutMs ?? 20_000);
  const res = await fetch(url, { headers: opts.headers, signal: abort.signal });
  const events: SseEvent[] = [];
  try {
    if (!res.ok || !res.body) return { status: res.status, contentType: res.headers.get("content-type"), events };
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let opened = false;
    while (!until(events)) {
      const { done, value } = await reader.read();
      if (done) break;
      const taken = takeSseEvents(buffer + value);
      events.push(...taken.events);
      buffer = taken.rest;
      if (!opened && events.length > 0) {
        opened = true;
        await opts.onOpen?.();
      }
    }
    return { status: res.status, contentType: res.headers.get("content-type"), events };
  } catch (e) {
    if (abort.signal.aborted) throw new Error(`event stream ${url} timed out with ${events.map((e) => e.event).join(", ") || "no events"}`);
    throw e;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}
