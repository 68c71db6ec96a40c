/**
 * What a stranger's bad or hostile input gets from a real `next start` of the built app (SQLite in a
 * temporary DATA_DIR, the tiny model installed, a Redis database of its own, no worker): first the
 * defects found by hand, each with its expected answer, then a bounded battery of hostile requests on
 * every API route, all on loopback. Every answer must be below 500; every 4xx must be the JSON error
 * naming the field; no answer may show a server path or a stack trace.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { crc32 } from "node:zlib";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { JobJson, UploadJson } from "../../lib/jobs/schemas.ts";
import { createMp4Encoder } from "../../lib/video/encoder.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { tinyRequest } from "../helpers/jobs-context.ts";
import { call, startApiStudio, type ApiStudio } from "./helpers.ts";

let api: ApiStudio;
let base: string;
const scratch = tempDir("hostile-src");

beforeAll(async () => {
  api = await startApiStudio("studio-hostile", inject("redisUrl"), 3);
  base = api.base;
});
afterAll(async () => {
  await api?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

type ErrorBody = { error: { code: string; message: string; field?: string } };

/** Text that must never reach a client: the server's folders, and the "    at fn (file:line)" of a stack. */
function leaks(text: string): string[] {
  const found: string[] = [];
  for (const folder of [api.dataDir, process.cwd(), os.tmpdir(), os.homedir(), "/data/", "node_modules", ".partial."]) {
    if (folder.length > 1 && text.includes(folder)) found.push(folder);
  }
  if (/\n\s+at .+[:(]\d+/.test(text)) found.push("stack trace");
  return found;
}

async function upload(data: Uint8Array, name: string) {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(data)]), name);
  return await call<ErrorBody & UploadJson>(base, "/api/uploads", { method: "POST", body: form });
}

async function encodeMp4(name: string, frames = 5): Promise<Buffer> {
  const file = path.join(scratch, name);
  const encoder = createMp4Encoder({ file, width: 64, height: 48, preset: "ultrafast" });
  for (let i = 0; i < frames; i++) await encoder.writeFrame(new Uint8Array(64 * 48 * 3).fill(40 + i * 20));
  await encoder.finish();
  return readFileSync(file);
}

function audioOnlyMp4(): Buffer {
  const file = path.join(scratch, "tone.mp4");
  execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=0.5", "-c:a", "aac", file]);
  return readFileSync(file);
}

/** A 1x1 PNG whose header claims width x height (a decompression bomb, if anything decoded it). */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: "#808080" } }).png().toBuffer());
  const ihdr = png.indexOf("IHDR");
  png.writeUInt32BE(width, ihdr + 4);
  png.writeUInt32BE(height, ihdr + 8);
  png.writeUInt32BE(crc32(png.subarray(ihdr, ihdr + 17)), ihdr + 17);
  return png;
}

const mp4Lookalike = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from("ftypisom"), Buffer.alloc(3000, 0x5a)]);
const moovLookalike = Buffer.concat([Buffer.from([0, 0, 0, 0x40]), Buffer.from("moov"), Buffer.alloc(3000, 0x11)]);
const webmLookalike = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), Buffer.alloc(3000, 0x42)]);

describe("the defects found by hand", () => {
  it("refuses control characters and lone surrogates in the prompts (400 naming the field), not a job that can only fail", async () => {
    for (const [field, change] of [
      ["prompt", { prompt: "a fox\u0000 in snow" }],
      ["prompt", { prompt: "a fox\u001b[31m" }],
      ["negativePrompt", { negativePrompt: "blur\u0007" }],
      ["prompt", { prompt: "a \ud800 b" }],
      ["negativePrompt", { negativePrompt: "a \udc00 b" }],
    ] as const) {
      const res = await call<ErrorBody>(base, "/api/jobs", { method: "POST", json: tinyRequest(change) });
      expect({ field, status: res.status, named: res.body.error?.field }).toEqual({ field, status: 400, named: field });
    }
    const fine = await call<JobJson>(base, "/api/jobs", { method: "POST", json: tinyRequest({ prompt: "two lines\n\tand an emoji 🦊" }) });
    expect(fine.status).toBe(201);
  });

  it("says what is wrong with a value, in plain words", async () => {
    const message = async (change: Record<string, unknown>) =>
      (await call<ErrorBody>(base, "/api/jobs", { method: "POST", json: tinyRequest(change) })).body.error.message;
    expect(await message({ steps: 0 })).toBe("steps must be at least 1");
    expect(await message({ prompt: 123 })).toBe("prompt must be a string");
    expect(await message({ prompt: undefined })).toBe("prompt is required");
    expect(await message({ seed: 2 ** 64 })).toMatch(/^seed must be ≤ /);

    const video = await upload(await encodeMp4("input.mp4"), "input.mp4");
    expect(video.status).toBe(201);
    const wrongKind = await call<ErrorBody>(base, "/api/jobs", { method: "POST", json: tinyRequest({ kind: "i2v", imageUploadId: video.body.id }) });
    expect([wrongKind.status, wrongKind.body.error.field]).toEqual([422, "imageUploadId"]);
    expect(wrongKind.body.error.message).toContain("needs an image");

    const longId = "a".repeat(5000);
    const notFound = await call<ErrorBody>(base, `/api/jobs/${longId}`);
    expect([notFound.status, notFound.body.error.field]).toEqual([404, "id"]);
    expect(notFound.body.error.message.length).toBeLessThan(200);
  });

  it("refuses a 60 MB upload quoting the 50 MB limit", async () => {
    const big = await upload(new Uint8Array(60 * 1024 * 1024), "big.png");
    expect([big.status, big.body.error.field, big.body.error.message]).toEqual([413, "file", "the file is larger than 50 MB"]);
  });

  it("refuses damaged images with plain words, and a pixel bomb with 422", async () => {
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#3366cc" } }).png({ compressionLevel: 0 }).toBuffer();
    const truncated = await upload(png.subarray(0, png.length >> 1), "cut.png");
    expect([truncated.status, truncated.body.error.field]).toEqual([400, "file"]);
    expect(truncated.body.error.message).not.toMatch(/vips|libpng/i);
    expect(truncated.body.error.message).toMatch(/damaged|cut short/);
    const bomb = await upload(await pngClaiming(20_000, 20_000), "bomb.png");
    expect([bomb.status, bomb.body.error.field]).toEqual([422, "file"]);
    expect(bomb.body.error.message).toContain("20000x20000");
  });

  it("refuses broken videos without naming the server's files", async () => {
    const mp4 = await encodeMp4("whole.mp4", 9);
    const cases: [string, Uint8Array][] = [
      ["truncated.mp4", mp4.subarray(0, mp4.length >> 1)],
      ["tone.mp4", audioOnlyMp4()],
      ["ftyp.mp4", mp4Lookalike],
      ["moov.mov", moovLookalike],
      ["header.webm", webmLookalike],
    ];
    for (const [name, data] of cases) {
      const res = await upload(data, name);
      expect({ name, status: res.status, field: res.body.error?.field, leaks: leaks(JSON.stringify(res.body)) }).toEqual({ name, status: 400, field: "file", leaks: [] });
      expect(res.body.error.message).not.toContain("ffprobe");
    }
    expect(readdirSync(path.join(api.dataDir, "uploads")).filter((f) => f.includes(".partial"))).toEqual([]);
  });

  it("refuses list cursors holding dates no job can have (400, not 500)", async () => {
    // As JSON text: 1e400 parses to Infinity, and "\\ud800" to half of a surrogate pair.
    for (const position of ['[8.64e16,"x"]', '[-8.64e15,"x"]', `[${Date.now()},"\\ud800"]`, '[1e400,"x"]']) {
      const cursor = Buffer.from(position).toString("base64url");
      const res = await call<ErrorBody>(base, `/api/jobs?cursor=${cursor}`);
      expect({ position, status: res.status, field: res.body.error?.field }).toEqual({ position, status: 400, field: "cursor" });
    }
    expect((await call<ErrorBody>(base, "/api/jobs?cursor=WzguNjRlMTYsIngiXQ")).status).toBe(400);
  });

  it("answers JSON for a method a route lacks, a range outside the file and an unknown /api path", async () => {
    const put = await call<ErrorBody>(base, "/api/jobs", { method: "PUT", json: {} });
    expect([put.status, put.body.error?.field, put.headers.get("allow")]).toEqual([405, "method", "GET, POST"]);
    const png = await upload(await sharp({ create: { width: 8, height: 8, channels: 3, background: "#fff" } }).png().toBuffer(), "w.png");
    const range = await call<ErrorBody>(base, `/api/uploads/${png.body.id}/file`, { headers: { range: "bytes=999999999-" } });
    expect([range.status, range.body.error?.field]).toEqual([416, "range"]);
    expect(range.headers.get("content-range")).toMatch(/^bytes \*\/\d+$/);
    for (const p of ["/api/jobs/%2e%2e/video", "/api/nothing", "/api/jobs/x/y/z"]) {
      const res = await call<ErrorBody>(base, p);
      expect({ p, status: res.status, code: res.body.error?.code }).toEqual({ p, status: 404, code: "not_found" });
    }
  });
});

type Probe = { method: string; path: string; headers?: Record<string, string>; body?: BodyInit; json?: unknown };

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/** The battery: every route with every method, hostile ids, bodies, queries, uploads and ranges. */
function battery(ids: { job: string; upload: string; video: string; batch: string }): Probe[] {
  const probes: Probe[] = [];
  const unknown = "00000000-0000-0000-0000-000000000000";
  const hostileIds = [unknown, "..", "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "a".repeat(5000), "%00", "%ff", "NOT_AN_ID", "%F0%9F%A6%8A"];
  const jobRoutes = ["", "/cancel", "/retry", "/continue", "/events", "/video", "/poster", "/preview", "/chain"];
  const uploadRoutes = ["", "/file", "/thumbnail"];
  const batchRoutes = ["", "/cancel"];
  const plain = ["/api/jobs", "/api/batches", "/api/uploads", "/api/models", "/api/health", "/api/login", "/api/logout", "/api/openapi.json", "/api/events", "/api/workers"];
  // Every route, every method, an empty body.
  const withIds = [
    ...jobRoutes.map((r) => `/api/jobs/${ids.job}${r}`),
    ...uploadRoutes.map((r) => `/api/uploads/${ids.upload}${r}`),
    ...batchRoutes.map((r) => `/api/batches/${ids.batch}${r}`),
  ];
  for (const p of [...plain, ...withIds]) {
    for (const method of METHODS) if (!(p.endsWith("/events") && method === "GET")) probes.push({ method, path: p });
  }
  // Hostile ids on every route that takes one.
  for (const id of hostileIds) {
    for (const r of jobRoutes) probes.push({ method: ["/cancel", "/retry", "/continue"].includes(r) ? "POST" : "GET", path: `/api/jobs/${id}${r}` });
    probes.push({ method: "DELETE", path: `/api/jobs/${id}` });
    for (const r of uploadRoutes) probes.push({ method: "GET", path: `/api/uploads/${id}${r}` });
    for (const r of batchRoutes) probes.push({ method: r === "/cancel" ? "POST" : "GET", path: `/api/batches/${id}${r}` });
    probes.push({ method: "DELETE", path: `/api/batches/${id}` });
  }
  // Bodies for the JSON routes.
  const jsonBodies: unknown[] = [
    null, [], "text", 42, true, {}, { prompt: null }, { prompt: ["a"] }, { prompt: { toString: "x" } },
    tinyRequest({ prompt: "nul\u0000" }), tinyRequest({ prompt: "a \ud800 b" }), tinyRequest({ negativePrompt: "\udfff" }),
    tinyRequest({ width: 1e308 }), tinyRequest({ height: -16 }), tinyRequest({ frames: 2 ** 31 + 1 }), tinyRequest({ steps: 0.5 }),
    tinyRequest({ seed: 2 ** 64 }), tinyRequest({ seed: "1" }), tinyRequest({ guidance: null }), tinyRequest({ solver: "__proto__" }),
    tinyRequest({ kind: "i2v", imageUploadId: ids.video }), tinyRequest({ kind: "v2v", videoUploadId: ids.upload }),
    tinyRequest({ kind: "v2v", videoUploadId: "00000000-dead" }), tinyRequest({ model: "../../etc" }), tinyRequest({ model: "x".repeat(100) }),
    tinyRequest({ seconds: 1e-300, frames: undefined }), tinyRequest({ __proto__: { polluted: true } }), JSON.parse('{"constructor":{"prototype":{"x":1}}}'),
    { token: 1 }, { token: "x".repeat(5000) }, { token: "" },
    // Batches: counts and prompt lists that are not.
    tinyRequest({ count: 1e308 }), tinyRequest({ count: -1 }), tinyRequest({ count: "2" }), tinyRequest({ count: null }),
    { ...tinyRequest({ count: 2 }), prompt: undefined, prompts: [null] }, { ...tinyRequest(), prompt: undefined, prompts: "a\nb" },
    { ...tinyRequest(), prompt: undefined, prompts: Array.from({ length: 5000 }, () => "a") }, { ...tinyRequest(), prompt: undefined, prompts: ["ok", "nul\u0000"] },
    { ...tinyRequest(), prompt: undefined, prompts: { 0: "a", length: 1 } }, tinyRequest({ count: 2, seed: 2 ** 53 - 1 }),
  ];
  for (const p of ["/api/jobs", "/api/batches", "/api/login", `/api/jobs/${ids.job}/continue`]) {
    for (const json of jsonBodies) probes.push({ method: "POST", path: p, json });
    probes.push({ method: "POST", path: p, headers: { "content-type": "application/json" }, body: "{\"prompt\":" });
    probes.push({ method: "POST", path: p, headers: { "content-type": "application/json" }, body: "[".repeat(60_000) });
    probes.push({ method: "POST", path: p, headers: { "content-type": "application/json" }, body: Buffer.from([0xff, 0xfe, 0x00, 0x7b]) });
    probes.push({ method: "POST", path: p, headers: { "content-type": "text/plain" }, body: "{}" });
    probes.push({ method: "POST", path: p, body: "{}" });
    probes.push({ method: "POST", path: p, headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: "x".repeat(80_000) }) });
  }
  // Queries of the list.
  const cursors = [[8.64e16, "x"], [-8.64e15, "x"], [0, "\ud800"], ["x", "y"], [1, 2], {}, [1e21, unknown]].map((c) => Buffer.from(JSON.stringify(c)).toString("base64url"));
  const queries = [
    ...cursors.map((c) => `cursor=${c}`), "cursor=%", "cursor=" + "A".repeat(300), "cursor=WzguNjRlMTYsIngiXQ",
    "limit=-1", "limit=abc", "limit=1e400", "limit=0x10", "limit=", "status=bogus", "status=,,,", "kind=movie", "kind=",
    "q=%25%5F", "q=" + "x".repeat(3000), "q=%00", "q=%ED%A0%80", "q=%ff", "limit=1&limit=2", "__proto__=1",
    "batch=..%2F..%2Fetc", "batch=%00", "batch=" + "b".repeat(100), "batch=",
  ];
  for (const q of queries) probes.push({ method: "GET", path: `/api/jobs?${q}` });
  // Uploads that are not what they claim.
  const uploads: [string, Uint8Array][] = [
    ["text.png", Buffer.from("not a picture")], ["empty.png", new Uint8Array(0)], ["ftyp.mp4", mp4Lookalike],
    ["moov.mov", moovLookalike], ["header.webm", webmLookalike], ["jpeg-head.jpg", Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])],
    ["riff.webp", Buffer.from("RIFF\0\0\0\0WEBPVP8 garbage")], ["png-head.png", Buffer.from("\x89PNG\r\n\x1a\n", "latin1")],
  ];
  for (const [name, data] of uploads) {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(data)]), name);
    probes.push({ method: "POST", path: "/api/uploads", body: form });
  }
  const textForm = new FormData();
  textForm.append("file", "just a string");
  probes.push({ method: "POST", path: "/api/uploads", body: textForm });
  probes.push({ method: "POST", path: "/api/uploads", headers: { "content-type": "multipart/form-data; boundary=x" }, body: "--x\r\nbroken" });
  probes.push({ method: "POST", path: "/api/uploads", headers: { "content-type": "multipart/form-data" }, body: "no boundary" });
  // Ranges and conditions on a stored file.
  for (const range of ["bytes=999999999-", "bytes=-0", "bytes=5-1", "bytes=0-1,4-5", "bytes=abc", "items=0-1", "bytes=99999999999999999999-"]) {
    for (const r of ["/file", "/thumbnail"]) probes.push({ method: "GET", path: `/api/uploads/${ids.upload}${r}`, headers: { range } });
  }
  probes.push({ method: "GET", path: `/api/uploads/${ids.upload}/file`, headers: { "if-none-match": "*", "if-range": "\"x\"", range: "bytes=0-1" } });
  // Paths no route has.
  for (const p of ["/api", "/api/", "/api/nothing", "/api/jobs/%2e%2e/video", "/api/jobs/x/y/z", "/api/uploads/x/file/more", "/api/%00", "/api/jobs/x%2F..%2F..%2Fhealth"]) {
    for (const method of ["GET", "POST", "DELETE"]) probes.push({ method, path: p });
  }
  return probes;
}

describe("a battery of hostile requests on every route", () => {
  it("answers no 5xx, every 4xx as the JSON error naming its field, and never a server path or stack trace", async () => {
    const job = await call<JobJson>(base, "/api/jobs", { method: "POST", json: tinyRequest({ prompt: "battery" }) });
    const image = await upload(await sharp({ create: { width: 32, height: 32, channels: 3, background: "#c33" } }).jpeg().toBuffer(), "red.jpg");
    const video = await upload(await encodeMp4("battery.mp4"), "battery.mp4");
    const batch = await call<{ id: string }>(base, "/api/batches", { method: "POST", json: tinyRequest({ prompt: "battery batch", count: 2 }) });
    expect([job.status, image.status, video.status, batch.status]).toEqual([201, 201, 201, 201]);
    const probes = battery({ job: job.body.id, upload: image.body.id, video: video.body.id, batch: batch.body.id });
    expect(probes.length).toBeGreaterThan(300);
    expect(probes.length).toBeLessThan(700);

    const problems: string[] = [];
    for (const probe of probes) {
      const headers = new Headers(probe.headers);
      if (probe.json !== undefined) headers.set("content-type", "application/json");
      const res = await fetch(base + probe.path, {
        method: probe.method,
        headers,
        body: probe.json !== undefined ? JSON.stringify(probe.json) : probe.body,
        redirect: "manual",
      });
      const text = res.headers.get("content-type")?.includes("event-stream") ? (await res.body?.cancel(), "") : await res.text();
      const what = `${probe.method} ${probe.path.slice(0, 120)}${probe.headers?.range ? ` (${probe.headers.range})` : ""} → ${res.status}`;
      if (res.status >= 500) problems.push(`${what}: 5xx ${text.slice(0, 200)}`);
      for (const leak of leaks(text)) problems.push(`${what}: shows ${leak}`);
      if (res.status >= 400 && res.status < 500 && probe.method !== "HEAD") {
        let field: unknown;
        try {
          field = (JSON.parse(text) as ErrorBody).error.field;
        } catch {
          problems.push(`${what}: not JSON (${res.headers.get("content-type")}) ${text.slice(0, 80)}`);
          continue;
        }
        if (typeof field !== "string" || !field) problems.push(`${what}: no field named in ${text.slice(0, 200)}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
