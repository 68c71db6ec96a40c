/**
 * Queue control and webhooks through the whole studio: a real `next start`, a real worker process
 * (workers/generate.ts on the built-in tiny model), the test Redis and SQLite file, and a local HTTP
 * server started here that receives the webhooks (the job's own URL answers 500 once, then 200, so the
 * retry runs; the global WEBHOOK_URL answers 200). Everything goes through the HTTP API.
 */
import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { JobJson } from "../../lib/jobs/schemas.ts";
import type { QueueState, WebhookDeliveries } from "../../lib/ui/api-types.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { redisDbUrl, tinyRequest, waitFor } from "../helpers/jobs-context.ts";
import { installTinyModel } from "../helpers/models.ts";
import { startStudioProcesses, type StudioProcesses } from "../helpers/studio.ts";
import { call, readEvents } from "./helpers.ts";

const SECRET = "test-webhook-secret-0123456789";
/** A job that keeps the worker busy for several seconds. */
const LONG = { frames: 33, steps: 100 } as const;

type Received = { path: string; headers: Record<string, string | string[] | undefined>; body: string; answered: number };

let studio: StudioProcesses;
let base: string;
let receiver: Server;
let hookBase: string;
const received: Received[] = [];
const dataDir = tempDir("studio-queue-webhooks");

beforeAll(async () => {
  // The receiver: /job answers 500 to the first call of each job, then 200; /global always 200.
  const seen = new Set<string>();
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      const jobId = (JSON.parse(body) as { job: { id: string } }).job.id;
      const first = req.url === "/job" && !seen.has(jobId);
      if (req.url === "/job") seen.add(jobId);
      const answered = first ? 500 : 200;
      received.push({ path: req.url ?? "", headers: req.headers, body, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  hookBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  await installTinyModel(path.join(dataDir, "models"));
  const redisUrl = redisDbUrl(inject("redisUrl"), 3);
  const redis = createRedis(redisUrl, "queue-webhooks-setup");
  await redis.flushdb();
  redis.disconnect();
  studio = await startStudioProcesses({
    dataDir,
    redisUrl,
    workers: 1,
    env: { EXECUTION_PROVIDERS: "cpu", WEBHOOK_URL: `${hookBase}/global`, WEBHOOK_SECRET: SECRET },
  });
  base = studio.url;
});
afterAll(async () => {
  await studio?.stop();
  await new Promise((r) => receiver?.close(r));
  rmSync(dataDir, { recursive: true, force: true });
});

async function create(body: Record<string, unknown>): Promise<JobJson> {
  const res = await call<JobJson>(base, "/api/jobs", { method: "POST", json: body });
  if (res.status !== 201) throw new Error(`POST /api/jobs answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

const getJob = async (id: string) => (await call<JobJson>(base, `/api/jobs/${id}`)).body;
const queue = async () => (await call<QueueState>(base, "/api/queue")).body;
const order = async () => (await queue()).jobs.map((j) => j.id);
/** The queue's jobs as band and id (every job here is of the one class of the tiny model's t2v jobs). */
const bands = (state: QueueState) => state.jobs.map(({ id, priority }) => ({ id, priority }));

async function post<T>(route: string, json?: unknown): Promise<T> {
  const res = await call<T>(base, route, { method: "POST", ...(json !== undefined ? { json } : {}) });
  if (res.status !== 200) throw new Error(`POST ${route} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

function waitForStatus(id: string, status: JobJson["status"], timeoutMs = 60_000): Promise<JobJson> {
  return waitFor(`job ${id} to be ${status}`, async () => {
    const job = await getJob(id);
    return job.status === status ? job : undefined;
  }, timeoutMs, 100);
}

describe("webhooks when a job ends", () => {
  it("calls the job's URL and the global one with a signed body, retries the 500, and records every try", async () => {
    const job = await create(tinyRequest({ seed: 3, webhookUrl: `${hookBase}/job` }));
    expect(job.hasWebhook).toBe(true);
    await waitForStatus(job.id, "succeeded");
    const mine = await waitFor("two calls to the job's URL and one to the global URL", () => {
      const calls = received.filter((r) => (JSON.parse(r.body) as { job: { id: string } }).job.id === job.id);
      return calls.filter((c) => c.path === "/job").length >= 2 && calls.some((c) => c.path === "/global") ? calls : undefined;
    }, 30_000, 100);

    for (const call of mine) {
      // The receiver's check, done by hand: HMAC-SHA256 over "<timestamp>.<raw body>".
      const timestamp = String(call.headers["x-studio-timestamp"]);
      const expected = `sha256=${createHmac("sha256", SECRET).update(`${timestamp}.${call.body}`).digest("hex")}`;
      expect(call.headers["x-studio-signature"]).toBe(expected);
      expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(120);
      expect(call.headers["x-studio-event"]).toBe("job.succeeded");
      const body = JSON.parse(call.body) as { event: string; job: Record<string, unknown> };
      expect(body.event).toBe("job.succeeded");
      expect(body.job).toMatchObject({ id: job.id, status: "succeeded", seed: 3, pageUrl: `/jobs/${job.id}`, videoUrl: `/api/jobs/${job.id}/video` });
      // Nothing of the server's file system.
      expect(call.body).not.toContain(dataDir);
      expect(call.body).not.toMatch(/\.mp4"|\/tmp\//);
    }
    // The same body signed with another secret does not verify.
    const forged = `sha256=${createHmac("sha256", "another-secret-0123456789").update(`${mine[0].headers["x-studio-timestamp"]}.${mine[0].body}`).digest("hex")}`;
    expect(forged).not.toBe(mine[0].headers["x-studio-signature"]);

    const records = await waitFor("three delivery records", async () => {
      const r = (await call<WebhookDeliveries>(base, `/api/jobs/${job.id}/webhooks`)).body.deliveries;
      return r.length >= 3 ? r : undefined;
    }, 10_000, 100);
    const byTarget = (t: string) => records.filter((r) => r.target === t).map((r) => ({ attempt: r.attempt, statusCode: r.statusCode, error: r.error, event: r.event, origin: r.origin }));
    expect(byTarget("job")).toEqual([
      { attempt: 1, statusCode: 500, error: "the receiver answered 500", event: "succeeded", origin: hookBase },
      { attempt: 2, statusCode: 200, error: null, event: "succeeded", origin: hookBase },
    ]);
    // The global receiver answered the first time and is not called again on the retry.
    expect(byTarget("global")).toEqual([{ attempt: 1, statusCode: 200, error: null, event: "succeeded", origin: hookBase }]);
    for (const r of records) expect(r.durationMs).toBeGreaterThanOrEqual(0);
    expect(received.filter((r) => r.path === "/global" && r.body.includes(job.id))).toHaveLength(1);
  });

  it("announces a canceled job too, and refuses webhook URLs that are not http(s)", async () => {
    await post("/api/queue/pause");
    try {
      const job = await create(tinyRequest({ webhookUrl: `${hookBase}/job` }));
      await post(`/api/jobs/${job.id}/cancel`);
      const events = await waitFor("the canceled job's call to succeed", () => {
        const calls = received.filter((r) => r.path === "/job" && r.body.includes(job.id));
        return calls.some((c) => c.answered === 200) ? calls : undefined;
      }, 30_000, 100);
      expect(events.map((e) => e.headers["x-studio-event"])).toEqual(["job.canceled", "job.canceled"]);
    } finally {
      await post("/api/queue/resume");
    }
    for (const webhookUrl of ["ftp://example.com/x", "not a url", "http://user:pw@example.com/"]) {
      const res = await call<{ error: { field: string } }>(base, "/api/jobs", { method: "POST", json: tinyRequest({ webhookUrl }) });
      expect([res.status, res.body.error.field]).toEqual([400, "webhookUrl"]);
    }
    const unknown = await call<{ error: { code: string } }>(base, "/api/jobs/00000000-0000-0000-0000-000000000000/webhooks");
    expect(unknown.status).toBe(404);
  });
});

describe("queue control through the API with a real worker", () => {
  it("pause: the running job finishes, a queued one is not taken; resume: it runs", async () => {
    const running = await create(tinyRequest({ ...LONG, prompt: "a long train crossing a bridge" }));
    await waitForStatus(running.id, "running");
    // The pause reaches every open page as a "queue" event.
    const { events } = await readEvents(`${base}/api/events`, (ev) => ev.some((e) => e.event === "queue"), {
      timeoutMs: 20_000,
      onOpen: async () => void (await post<QueueState>("/api/queue/pause")),
    });
    expect(events.find((e) => e.event === "queue")?.data).toMatchObject({ type: "queue", paused: true });

    const waiting = await create(tinyRequest({ prompt: "waits for the resume" }));
    expect(await waitForStatus(running.id, "succeeded", 120_000)).toMatchObject({ status: "succeeded" });
    // Long enough for an unpaused worker to have taken it several times over.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await getJob(waiting.id)).status).toBe("queued");
    // It waits in its capability class's queue, which the live worker takes (so it waits for nothing else).
    expect(await queue()).toEqual({ paused: true, jobs: [{ id: waiting.id, priority: "normal", queue: expect.stringMatching(/^generate\.wan-tiny\.t2v\.\d+g$/), waitingFor: null }] });

    expect((await post<QueueState>("/api/queue/resume")).paused).toBe(false);
    expect(await waitForStatus(waiting.id, "succeeded")).toMatchObject({ attempts: 1 });
  });

  it("priority and moves change the order workers take jobs in, and the database keeps each job's band", async () => {
    await post("/api/queue/pause");
    const [a, b, c] = [await create(tinyRequest({ prompt: "a" })), await create(tinyRequest({ prompt: "b" })), await create(tinyRequest({ prompt: "c" }))];
    expect(await order()).toEqual([a.id, b.id, c.id]);

    expect((await post<QueueState>(`/api/jobs/${c.id}/move`, { direction: "up" })).jobs.map((j) => j.id)).toEqual([a.id, c.id, b.id]);
    // A high job goes ahead of every normal one.
    expect(bands(await post<QueueState>(`/api/jobs/${b.id}/priority`, { priority: "high" }))).toEqual([
      { id: b.id, priority: "high" },
      { id: a.id, priority: "normal" },
      { id: c.id, priority: "normal" },
    ]);
    expect((await getJob(b.id)).priority).toBe("high");
    // Down across the band's edge: b joins the normal band behind a.
    expect(bands(await post<QueueState>(`/api/jobs/${b.id}/move`, { direction: "down" }))).toEqual([
      { id: a.id, priority: "normal" },
      { id: b.id, priority: "normal" },
      { id: c.id, priority: "normal" },
    ]);
    expect((await getJob(b.id)).priority).toBe("normal");
    await post(`/api/jobs/${c.id}/move`, { direction: "up" });
    await post(`/api/jobs/${c.id}/move`, { direction: "up" });
    // Already first: nothing changes.
    expect(await order()).toEqual([c.id, a.id, b.id]);
    expect(await order()).toEqual((await post<QueueState>(`/api/jobs/${c.id}/move`, { direction: "up" })).jobs.map((j) => j.id));

    await post("/api/queue/resume");
    const done = await Promise.all([c, a, b].map((j) => waitForStatus(j.id, "succeeded")));
    const started = done.map((j) => Date.parse(j.startedAt!));
    expect(started).toEqual([...started].sort((x, y) => x - y));
  });

  it("answers bad requests with the field at fault, and a finished job cannot be moved", async () => {
    const job = await create(tinyRequest());
    await waitForStatus(job.id, "succeeded");
    const moved = await call<{ error: { code: string } }>(base, `/api/jobs/${job.id}/move`, { method: "POST", json: { direction: "up" } });
    expect([moved.status, moved.body.error.code]).toEqual([409, "conflict"]);
    const bad = await call<{ error: { field: string } }>(base, `/api/jobs/${job.id}/move`, { method: "POST", json: { direction: "sideways" } });
    expect([bad.status, bad.body.error.field]).toEqual([400, "direction"]);
    const badPriority = await call<{ error: { field: string } }>(base, "/api/jobs", { method: "POST", json: tinyRequest({ priority: "urgent" }) });
    expect([badPriority.status, badPriority.body.error.field]).toEqual([400, "priority"]);
    const missing = await call(base, "/api/jobs/00000000-0000-0000-0000-000000000000/priority", { method: "POST", json: { priority: "high" } });
    expect(missing.status).toBe(404);
  });

  it("documents the routes in /api/openapi.json", async () => {
    const doc = (await call<{ paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } }>(base, "/api/openapi.json")).body;
    for (const [p, method] of [["/api/queue", "get"], ["/api/queue/pause", "post"], ["/api/queue/resume", "post"], ["/api/jobs/{id}/priority", "post"], ["/api/jobs/{id}/move", "post"], ["/api/jobs/{id}/webhooks", "get"]]) {
      expect(doc.paths[p]).toHaveProperty(method);
    }
    expect(doc.components.schemas).toHaveProperty("QueueState");
    expect(doc.components.schemas).toHaveProperty("WebhookDeliveries");
  });
});
