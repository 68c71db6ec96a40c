/**
 * The HTTP API of a real `next start` of the built app, on a temporary DATA_DIR (SQLite inside, the real
 * tiny model installed) and a Redis database of its own: validation (every field of the request schema),
 * 404/409/413/415/422, uploads, byte ranges, event streams, models and the OpenAPI document. No worker
 * runs here, so jobs stay queued; tests/api/real-worker.test.ts runs jobs through real worker processes.
 */
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createJobRequestSchema, jobSchema, modelSchema, uploadSchema, type JobJson } from "../../lib/jobs/schemas.ts";
import { createMp4Encoder } from "../../lib/video/encoder.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { tinyRequest } from "../helpers/jobs-context.ts";
import { call, readEvents, startApiStudio, type ApiStudio } from "./helpers.ts";

let api: ApiStudio;
let base: string;

beforeAll(async () => {
  api = await startApiStudio("studio-api", inject("redisUrl"), 8);
  base = api.base;
});
afterAll(async () => {
  await api?.stop();
});

type ErrorBody = { error: { code: string; message: string; field?: string } };

async function createTiny(overrides: Record<string, unknown> = {}): Promise<JobJson> {
  const res = await call<JobJson>(base, "/api/jobs", { method: "POST", json: tinyRequest(overrides) });
  expect(res.status).toBe(201);
  return res.body;
}

async function upload(data: Uint8Array, name: string, type = "application/octet-stream") {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(data)], { type }), name);
  return await call(base, "/api/uploads", { method: "POST", body: form });
}

describe("POST /api/jobs", () => {
  it("creates a job: 201 with Location, the job JSON, readable again by id", async () => {
    const res = await call<JobJson>(base, "/api/jobs", { method: "POST", json: tinyRequest({ seed: 5 }) });
    expect(res.status).toBe(201);
    expect(jobSchema.parse(res.body)).toEqual(res.body);
    expect(res.headers.get("location")).toBe(`/api/jobs/${res.body.id}`);
    expect(res.body).toMatchObject({ status: "queued", kind: "t2v", seed: 5, model: "wan-tiny" });
    expect((await call(base, `/api/jobs/${res.body.id}`)).body).toEqual(res.body);
  });

  it("answers 400 naming the field, for every field of the request schema", async () => {
    const invalid: Record<string, Record<string, unknown>> = {
      prompt: { prompt: "   " },
      negativePrompt: { negativePrompt: "x".repeat(2001) },
      width: { width: 170 },
      height: { height: "tall" },
      frames: { frames: 10 },
      steps: { steps: 0 },
      guidance: { guidance: 25 },
      shift: { shift: 0 },
      solver: { solver: "ddim" },
      seed: { seed: -1 },
      grid: { grid: "karras" },
      speed: { speed: "ludicrous" },
      priority: { priority: "urgent" },
      webhookUrl: { webhookUrl: "ftp://example.invalid/hook" },
      kind: { kind: "t2i" },
      model: { model: "../etc" },
      seconds: { frames: undefined, seconds: 0 },
      imageUploadId: { kind: "i2v", imageUploadId: "NOT_AN_ID" },
      fit: { kind: "i2v", imageUploadId: "00000000-0000", fit: "stretch" },
      videoUploadId: { kind: "v2v", videoUploadId: "../../x" },
      strength: { kind: "v2v", videoUploadId: "00000000-0000", strength: 1.5 },
    };
    // A field added to the schema without a case here fails this test.
    expect(Object.keys(invalid).sort()).toEqual(Object.keys(createJobRequestSchema.shape).sort());
    for (const [field, change] of Object.entries(invalid)) {
      const res = await call<ErrorBody>(base, "/api/jobs", { method: "POST", json: tinyRequest(change) });
      expect({ field, status: res.status, code: res.body.error?.code, named: res.body.error?.field }).toEqual({
        field,
        status: 400,
        code: "invalid_request",
        named: field,
      });
    }
    const missing = await call<ErrorBody>(base, "/api/jobs", { method: "POST", json: tinyRequest({ prompt: undefined }) });
    expect([missing.status, missing.body.error.field]).toEqual([400, "prompt"]);
    const unknown = await call<ErrorBody>(base, "/api/jobs", { method: "POST", json: tinyRequest({ guidence: 5 }) });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ field: "guidence", message: "unknown field: guidence" });
  });

  it("answers 400 for a body that is not JSON, 415 for another content type, 413 over 64 KB", async () => {
    const broken = await call<ErrorBody>(base, "/api/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: "{prompt:" });
    expect([broken.status, broken.body.error.field]).toEqual([400, "body"]);
    const form = await call<ErrorBody>(base, "/api/jobs", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" });
    expect([form.status, form.body.error.code]).toEqual([415, "unsupported_media_type"]);
    const huge = await call<ErrorBody>(base, "/api/jobs", { method: "POST", json: tinyRequest({ prompt: "x".repeat(70_000) }) });
    expect([huge.status, huge.body.error.code]).toEqual([413, "too_large"]);
  });

  it("answers 422 for a size the model does not offer and a model that is not installed", async () => {
    const size = await call<ErrorBody>(base, "/api/jobs", { method: "POST", json: tinyRequest({ width: 832, height: 480 }) });
    expect([size.status, size.body.error.field]).toEqual([422, "width"]);
    expect(size.body.error.message).toContain("160x96");
    const model = await call<ErrorBody>(base, "/api/jobs", { method: "POST", json: tinyRequest({ model: "wan-14b" }) });
    expect([model.status, model.body.error.field]).toEqual([422, "model"]);
  });
});

describe("job listing and verbs", () => {
  it("lists newest first with a cursor and filters, and refuses bad query values", async () => {
    const a = await createTiny({ prompt: "listing alpha" });
    const b = await createTiny({ prompt: "listing beta" });
    const page = await call<{ jobs: JobJson[]; nextCursor: string | null }>(base, "/api/jobs?limit=1&q=listing");
    expect(page.body.jobs.map((j) => j.id)).toEqual([b.id]);
    const next = await call<{ jobs: JobJson[]; nextCursor: string | null }>(base, `/api/jobs?limit=1&q=listing&cursor=${page.body.nextCursor}`);
    expect(next.body.jobs.map((j) => j.id)).toEqual([a.id]);
    expect(next.body.nextCursor).toBeNull();
    const bad = await call<ErrorBody>(base, "/api/jobs?limit=500");
    expect([bad.status, bad.body.error.field]).toEqual([400, "limit"]);
    expect((await call<ErrorBody>(base, "/api/jobs?kind=movie")).body.error.field).toBe("kind");
  });

  it("cancels, retries (409 while queued) and deletes", async () => {
    const job = await createTiny();
    const early = await call<ErrorBody>(base, `/api/jobs/${job.id}/retry`, { method: "POST" });
    expect([early.status, early.body.error.code]).toEqual([409, "conflict"]);
    const canceled = await call<JobJson>(base, `/api/jobs/${job.id}/cancel`, { method: "POST" });
    expect([canceled.status, canceled.body.status]).toEqual([200, "canceled"]);
    const retry = await call<JobJson>(base, `/api/jobs/${job.id}/retry`, { method: "POST" });
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ retryOfId: job.id, status: "queued" });
    expect((await call(base, `/api/jobs/${job.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await call(base, `/api/jobs/${job.id}`)).status).toBe(404);
  });

  it("answers 404 with the JSON error shape for unknown or malformed ids", async () => {
    const paths = [
      ["GET", "/api/jobs/00000000-0000-0000-0000-000000000000"],
      ["DELETE", "/api/jobs/00000000-0000-0000-0000-000000000000"],
      ["POST", "/api/jobs/00000000-0000-0000-0000-000000000000/cancel"],
      ["POST", "/api/jobs/00000000-0000-0000-0000-000000000000/retry"],
      ["GET", "/api/jobs/00000000-0000-0000-0000-000000000000/events"],
      ["GET", "/api/jobs/00000000-0000-0000-0000-000000000000/video"],
      ["GET", "/api/jobs/..%2F..%2Fetc%2Fpasswd/video"],
      ["GET", "/api/jobs/NOT-AN-ID/poster"],
      ["GET", "/api/uploads/00000000-none/file"],
      ["GET", "/api/uploads/00000000-none/thumbnail"],
    ];
    for (const [method, p] of paths) {
      const res = await call<ErrorBody>(base, p, { method });
      expect({ p, status: res.status, code: res.body.error?.code }).toEqual({ p, status: 404, code: "not_found" });
    }
    // A queued job has no video yet.
    const job = await createTiny();
    expect((await call(base, `/api/jobs/${job.id}/video`)).status).toBe(404);
  });
});

describe("uploads and file serving", () => {
  it("accepts an image (201), refuses other files (415), a form without a file (400), a non-form body (415), over 50 MB (413)", async () => {
    const png = await sharp({ create: { width: 48, height: 32, channels: 3, background: "#3366cc" } }).png().toBuffer();
    const ok = await upload(png, "blue.png", "image/png");
    expect(ok.status).toBe(201);
    expect(uploadSchema.parse(ok.body)).toMatchObject({ kind: "image", width: 48, height: 32, originalName: "blue.png" });
    const text = await upload(Buffer.from("hello"), "notes.png", "image/png");
    expect([text.status, (text.body as ErrorBody).error.field]).toEqual([415, "file"]);
    const empty = new FormData();
    empty.append("other", "x");
    const missing = await call<ErrorBody>(base, "/api/uploads", { method: "POST", body: empty });
    expect([missing.status, missing.body.error.field]).toEqual([400, "file"]);
    const json = await call<ErrorBody>(base, "/api/uploads", { method: "POST", json: { file: "x" } });
    expect(json.status).toBe(415);
    const big = await upload(new Uint8Array(51 * 1024 * 1024), "big.png");
    expect([big.status, (big.body as ErrorBody).error.code]).toEqual([413, "too_large"]);
  });

  it("serves an uploaded video with byte ranges: 200, 206, suffix ranges, 416 outside the file, 304 on a matching ETag", async () => {
    const dir = tempDir("api-video");
    const file = path.join(dir, "clip.mp4");
    const encoder = createMp4Encoder({ file, width: 64, height: 48, preset: "ultrafast" });
    for (let i = 0; i < 9; i++) await encoder.writeFrame(new Uint8Array(64 * 48 * 3).fill(i * 20));
    await encoder.finish();
    const bytes = readFileSync(file);
    rmSync(dir, { recursive: true, force: true });
    const created = await upload(bytes, "clip.mp4", "video/mp4");
    expect(created.status).toBe(201);
    const { id } = created.body as { id: string };
    const url = `${base}/api/uploads/${id}/file`;

    const full = await fetch(url);
    expect(full.status).toBe(200);
    expect(full.headers.get("accept-ranges")).toBe("bytes");
    expect(full.headers.get("content-type")).toBe("video/mp4");
    // (Next 16 drops Content-Length from route handler answers and sends them chunked; Content-Range
    // carries the size, which is what a <video> needs to seek.)
    expect(Buffer.from(await full.arrayBuffer()).equals(bytes)).toBe(true);
    const etag = full.headers.get("etag")!;
    expect(etag).toMatch(/^".+"$/);

    const part = await fetch(url, { headers: { range: "bytes=100-199" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 100-199/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);

    const tail = await fetch(url, { headers: { range: "bytes=-16" } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 16))).toBe(true);

    const open = await fetch(url, { headers: { range: `bytes=${bytes.length - 5}-` } });
    expect(open.headers.get("content-range")).toBe(`bytes ${bytes.length - 5}-${bytes.length - 1}/${bytes.length}`);
    await open.arrayBuffer();

    const outside = await fetch(url, { headers: { range: `bytes=${bytes.length}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get("content-range")).toBe(`bytes */${bytes.length}`);
    await outside.arrayBuffer();

    const cached = await fetch(url, { headers: { "if-none-match": etag } });
    expect(cached.status).toBe(304);

    const thumb = await fetch(`${base}/api/uploads/${id}/thumbnail`);
    expect(thumb.headers.get("content-type")).toBe("image/jpeg");
    expect((await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).width).toBe(64);
  });
});

describe("event streams", () => {
  it("a job's stream starts with a snapshot of the job, then relays its events", async () => {
    const job = await createTiny();
    const { status, contentType, events } = await readEvents(
      `${base}/api/jobs/${job.id}/events`,
      (ev) => ev.some((e) => e.event === "canceled"),
      { onOpen: async () => void (await call(base, `/api/jobs/${job.id}/cancel`, { method: "POST" })) },
    );
    expect(status).toBe(200);
    expect(contentType).toContain("text/event-stream");
    expect(events[0].event).toBe("snapshot");
    expect(events[0].data).toMatchObject({ id: job.id, status: "queued" });
    expect(events.at(-1)).toMatchObject({ event: "canceled", data: { type: "canceled", jobId: job.id } });
  });

  it("the all-jobs stream starts with the jobs queued or running", async () => {
    const job = await createTiny({ prompt: "in the queue panel" });
    const { events } = await readEvents(`${base}/api/events`, (ev) => ev.length >= 1);
    expect(events[0].event).toBe("snapshot");
    const jobs = (events[0].data as { jobs: JobJson[] }).jobs;
    expect(jobs.map((j) => j.id)).toContain(job.id);
    expect(jobs.every((j) => j.status === "queued" || j.status === "running")).toBe(true);
  });
});

describe("models, OpenAPI, login state", () => {
  it("GET /api/models lists the installed model with its defaults", async () => {
    const res = await call<unknown[]>(base, "/api/models");
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(1);
    const model = modelSchema.parse(res.body[0]);
    expect(model).toMatchObject({ name: "wan-tiny", variant: "t2v", tiny: true, imageToVideo: "first-frame", default: true });
    expect(model.defaults.sizes[0]).toEqual([160, 96]);
  });

  it("GET /api/openapi.json is an OpenAPI 3.1 document generated from the schemas", async () => {
    const res = await call<{ openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> } }>(base, "/api/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    const request = res.body.components.schemas.CreateJobRequest;
    expect(Object.keys(request.properties!).sort()).toEqual(Object.keys(createJobRequestSchema.shape).sort());
    expect(request.required).toEqual(expect.arrayContaining(["prompt", "width", "height", "steps", "guidance", "shift", "solver"]));
    expect(Object.keys(res.body.components.schemas.Job.properties!)).toEqual(Object.keys(jobSchema.shape));
    for (const p of ["/api/jobs", "/api/jobs/{id}", "/api/jobs/{id}/events", "/api/jobs/{id}/video", "/api/uploads", "/api/models", "/api/events"]) {
      expect(res.body.paths).toHaveProperty([p]);
    }
  });

  it("GET /api/login says no token is needed on loopback without STUDIO_TOKEN", async () => {
    expect((await call(base, "/api/login")).body).toEqual({ authRequired: false, authenticated: true });
  });
});
