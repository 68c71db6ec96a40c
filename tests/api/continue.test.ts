/**
 * Continue a clip through the whole studio: a real `next start` and a real worker process on the tiny
 * text-to-video and image-to-video models, on the test Redis and a SQLite file, through the HTTP API
 * only. A continuation starts from the previous part's last frame (the held first frame on a t2v model,
 * CLIP + mask conditioning on an i2v one) and its joined chain video has every frame of the chain so far
 * plus its own frames without the join frame. Refusals name the field; deleting a part leaves the parts
 * after it whole.
 */
import { readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import type { JobJson } from "../../lib/jobs/schemas.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { attemptFiles, createStorage } from "../../lib/storage/storage.ts";
import { decodeVideoFrames } from "../../lib/video/decode.ts";
import { readGenerationSettings } from "../../lib/video/metadata.ts";
import { probeVideo } from "../../lib/video/probe.ts";
import { scenePng } from "../browser/media.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { redisDbUrl, tinyRequest, waitFor } from "../helpers/jobs-context.ts";
import { installTinyModel, TINY_I2V, TINY_T2V } from "../helpers/models.ts";
import { startStudioProcesses, type StudioProcesses } from "../helpers/studio.ts";
import { psnr } from "../video/synthetic-frames.ts";
import { call } from "./helpers.ts";

let studio: StudioProcesses;
let base: string;
const dataDir = tempDir("studio-continue");
const storage = createStorage(dataDir);
const scratch = tempDir("continue-files");

beforeAll(async () => {
  await installTinyModel(path.join(dataDir, "models"));
  await installTinyModel(path.join(dataDir, "models"), { i2v: true });
  const redisUrl = redisDbUrl(inject("redisUrl"), 9);
  const redis = createRedis(redisUrl, "continue-setup");
  await redis.flushdb();
  redis.disconnect();
  studio = await startStudioProcesses({ dataDir, redisUrl, workers: 1, env: { EXECUTION_PROVIDERS: "cpu" } });
  base = studio.url;
});
afterAll(async () => {
  await studio?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

async function create(body: Record<string, unknown>): Promise<JobJson> {
  const res = await call<JobJson>(base, "/api/jobs", { method: "POST", json: body });
  if (res.status !== 201) throw new Error(`POST /api/jobs answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function continueJob(id: string, body?: Record<string, unknown>): Promise<JobJson> {
  const res = await call<JobJson>(base, `/api/jobs/${id}/continue`, { method: "POST", ...(body ? { json: body } : {}) });
  if (res.status !== 201) throw new Error(`POST /api/jobs/${id}/continue answered ${res.status}: ${JSON.stringify(res.body)}`);
  expect(res.headers.get("location")).toBe(`/api/jobs/${res.body.id}`);
  return res.body;
}

const getJob = async (id: string) => (await call<JobJson>(base, `/api/jobs/${id}`)).body;

async function succeeded(id: string): Promise<JobJson> {
  return await waitFor(`job ${id} to succeed`, async () => {
    const job = await getJob(id);
    if (["failed", "canceled"].includes(job.status)) throw new Error(`job ${id} ended ${job.status}: ${job.error}`);
    return job.status === "succeeded" ? job : undefined;
  }, 90_000, 100);
}

/** A file the API serves, saved for ffprobe and ffmpeg. */
async function download(url: string, name: string): Promise<string> {
  const res = await fetch(base + url);
  expect(res.status, url).toBe(200);
  expect(res.headers.get("content-type")).toBe("video/mp4");
  const file = path.join(scratch, name);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

async function frames(file: string): Promise<Uint8Array[]> {
  const { width, height } = await probeVideo(file);
  const out: Uint8Array[] = [];
  for await (const f of decodeVideoFrames(file, { width, height, maxFrames: 10_000 })) out.push(f);
  return out;
}

/** The joined video holds `head` then `tail` without its first frame: same count, each frame close to its source. */
function expectJoined(joined: Uint8Array[], head: Uint8Array[], tail: Uint8Array[]): void {
  expect(joined).toHaveLength(head.length + tail.length - 1);
  const expected = [...head, ...tail.slice(1)];
  // One more CRF-18 generation of the tiny model's coloured noise: about 30 dB, a little under on some seeds; a frame
  // from the wrong place is far below. (A repeated join frame also shows in the count above.)
  joined.forEach((f, i) => expect(psnr(f, expected[i]), `joined frame ${i}`).toBeGreaterThan(25));
}

describe("continue a clip", () => {
  let first: JobJson;
  let second: JobJson;
  let third: JobJson;

  it("continues a text-to-video clip on the t2v model (held first frame) and joins the two, the join frame once", async () => {
    first = await succeeded((await create(tinyRequest({ seed: 11, prompt: "a red fox running through snow" }))).id);
    // No body at all: every setting is the first part's, with a new random seed.
    const queued = await continueJob(first.id);
    expect(queued).toMatchObject({
      kind: "i2v",
      model: TINY_T2V,
      prompt: first.prompt,
      continuesJobId: first.id,
      inputUploadId: null,
      chain: { rootId: first.id, part: 2, parts: 2, nextIds: [], videoUrl: null },
    });
    expect(queued.params).toMatchObject({ width: 160, height: 96, frames: 9, steps: 8, fit: "crop" });
    expect(queued.params.seed).toBeUndefined();

    second = await succeeded(queued.id);
    expect(second.chain).toEqual({ rootId: first.id, part: 2, parts: 2, nextIds: [], videoUrl: `/api/jobs/${second.id}/chain` });
    expect(second.timings?.join).toBeGreaterThan(0);
    expect((await getJob(first.id)).chain).toEqual({ rootId: first.id, part: 1, parts: 2, nextIds: [second.id], videoUrl: null });

    const firstFile = await download(first.videoUrl!, "first.mp4");
    const secondFile = await download(second.videoUrl!, "second.mp4");
    const chainFile = await download(second.chain!.videoUrl!, "chain-2.mp4");
    // The engine got the last frame as an image at the output's exact size, on the t2v model's first-frame hold.
    expect(await readGenerationSettings(secondFile)).toMatchObject({ kind: "i2v", imageMode: "first-frame", fit: "crop", inputWidth: 160, inputHeight: 96 });
    expect(await probeVideo(chainFile, { countFrames: true })).toMatchObject({ codec: "h264", width: 160, height: 96, fps: 16, frames: 9 + 9 - 1 });
    expectJoined(await frames(chainFile), await frames(firstFile), await frames(secondFile));
    // The start frame and the link to the chain so far were the run's own: gone once it succeeded.
    expect(readdirSync(storage.jobDir(second.id)).filter((f) => !f.startsWith("preview")).sort()).toEqual(["chain.a1.mp4", "poster.a1.jpg", "video.a1.mp4"]);
  });

  it("continues a continuation with its own settings: part 3 joins part 2's chain", async () => {
    const queued = await continueJob(second.id, { prompt: "the fox leaps over a frozen stream", frames: 5, steps: 4, seed: 7 });
    expect(queued).toMatchObject({ prompt: "the fox leaps over a frozen stream", continuesJobId: second.id, seed: 7, chain: { rootId: first.id, part: 3, parts: 3 } });
    expect(queued.params).toMatchObject({ frames: 5, steps: 4, seed: 7, width: 160, height: 96 });
    third = await succeeded(queued.id);

    const chainFile = await download(third.chain!.videoUrl!, "chain-3.mp4");
    const thirdFile = await download(third.videoUrl!, "third.mp4");
    expect((await probeVideo(chainFile, { countFrames: true })).frames).toBe(17 + 5 - 1);
    expectJoined(await frames(chainFile), await frames(path.join(scratch, "chain-2.mp4")), await frames(thirdFile));
    expect((await getJob(first.id)).chain?.parts).toBe(3);
    expect((await getJob(second.id)).chain?.nextIds).toEqual([third.id]);

    // The gallery's list carries the same chain view.
    const listed = (await call<{ jobs: JobJson[] }>(base, "/api/jobs?limit=100")).body.jobs;
    expect(listed.find((j) => j.id === first.id)?.chain).toMatchObject({ part: 1, parts: 3, nextIds: [second.id] });
    expect(listed.find((j) => j.id === third.id)?.chain).toMatchObject({ part: 3, parts: 3, nextIds: [] });
  });

  it("continues an image-to-video clip on the i2v model with CLIP conditioning, at the clip's own size", async () => {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(await scenePng(640, 360))], { type: "image/png" }), "dusk.png");
    const image = (await call<{ id: string }>(base, "/api/uploads", { method: "POST", body: form })).body;
    const parent = await succeeded((await create(tinyRequest({ kind: "i2v", imageUploadId: image.id, model: TINY_I2V, seed: 4 }))).id);
    const child = await succeeded((await continueJob(parent.id, { prompt: "birds fly across the evening sky" })).id);
    expect(child).toMatchObject({ model: TINY_I2V, continuesJobId: parent.id, chain: { part: 2, parts: 2 } });

    const parentFile = await download(parent.videoUrl!, "i2v-parent.mp4");
    const childFile = await download(child.videoUrl!, "i2v-child.mp4");
    const chainFile = await download(child.chain!.videoUrl!, "i2v-chain.mp4");
    // The 16:9 image made a 160×80 clip inside the 160×96 budget; its last frame keeps that size.
    expect(await readGenerationSettings(childFile)).toMatchObject({ imageMode: "clip-conditioning", inputWidth: 160, inputHeight: 80 });
    expect(await probeVideo(chainFile, { countFrames: true })).toMatchObject({ width: 160, height: 80, frames: 17 });
    expectJoined(await frames(chainFile), await frames(parentFile), await frames(childFile));
  });

  it("refuses what cannot be continued, naming the field", async () => {
    const ask = (id: string, init: RequestInit & { json?: unknown } = {}) => call<{ error: { code: string; field?: string; message: string } }>(base, `/api/jobs/${id}/continue`, { method: "POST", ...init });

    expect((await ask("no-such-job-0000")).status).toBe(404);
    for (const [body, field] of [
      [{ width: 320 }, "width"],
      [{ kind: "t2v" }, "kind"],
      [{ steps: 0 }, "steps"],
      [{ prompt: "" }, "prompt"],
      [{ frames: 6 }, "frames"],
      [{ frames: 5, seconds: 1 }, "seconds"],
      [{ colour: "red" }, "colour"],
      [[1], "body"],
    ] as const) {
      const res = await ask(first.id, { json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.field, JSON.stringify(body)).toBe(field);
    }
    expect((await ask(first.id, { json: { width: 320 } })).body.error.message).toMatch(/previous part's/);
    const notJson = await ask(first.id, { body: "prompt=x", headers: { "content-type": "text/plain" } });
    expect([notJson.status, notJson.body.error.field]).toEqual([415, "content-type"]);
    const model = await ask(first.id, { json: { model: "not-installed" } });
    expect([model.status, model.body.error.field]).toEqual([422, "model"]);
    expect((await ask(first.id, { method: "GET" })).status).toBe(405);

    // Not succeeded: 409 on the id.
    const canceled = await create(tinyRequest({ steps: 100, frames: 33 }));
    await call(base, `/api/jobs/${canceled.id}/cancel`, { method: "POST" });
    const refused = await ask(canceled.id, { json: {} });
    expect([refused.status, refused.body.error.field]).toEqual([409, "id"]);
    expect(refused.body.error.message).toMatch(/only a succeeded job can be continued/);

    // Its video gone from storage: 422 on the id, and no server path in the answer.
    const lost = await succeeded((await create(tinyRequest({ seed: 5 }))).id);
    unlinkSync(storage.jobFile(lost.id, attemptFiles(1).video));
    const gone = await ask(lost.id);
    expect([gone.status, gone.body.error.field]).toEqual([422, "id"]);
    expect(gone.body.error.message).not.toContain(dataDir);
  });

  it("deleting a part keeps the parts after it: their files, chain video and place, with the link to it cleared", async () => {
    expect((await call(base, `/api/jobs/${first.id}`, { method: "DELETE" })).status).toBe(204);
    const orphan = await getJob(second.id);
    expect(orphan).toMatchObject({ status: "succeeded", continuesJobId: null, chain: { rootId: first.id, part: 2, parts: 3, nextIds: [third.id] } });
    for (const url of [orphan.videoUrl!, orphan.chain!.videoUrl!]) expect((await fetch(base + url)).status).toBe(200);
    expect((await getJob(third.id)).continuesJobId).toBe(second.id);

    // Its retry would need the deleted part; part 3's retry continues part 2 again.
    const noRetry = await call<{ error: { field: string } }>(base, `/api/jobs/${second.id}/retry`, { method: "POST" });
    expect([noRetry.status, noRetry.body.error.field]).toEqual([409, "id"]);
    const retried = await call<JobJson>(base, `/api/jobs/${third.id}/retry`, { method: "POST" });
    expect(retried.status).toBe(201);
    expect(retried.body).toMatchObject({ retryOfId: third.id, continuesJobId: second.id, seed: 7, chain: { part: 3 } });
    expect(retried.body.params).toMatchObject({ frames: 5, steps: 4, seed: 7 });
    await succeeded(retried.body.id);
  });

  it("is in the OpenAPI document", async () => {
    const doc = (await call<{ paths: Record<string, unknown>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } }>(base, "/api/openapi.json")).body;
    expect(doc.paths).toHaveProperty(["/api/jobs/{id}/continue"]);
    expect(doc.paths).toHaveProperty(["/api/jobs/{id}/chain"]);
    expect(Object.keys(doc.components.schemas.ContinueJobRequest.properties!)).toEqual(expect.arrayContaining(["prompt", "seed", "steps", "frames", "model"]));
    expect(doc.components.schemas.Job.properties).toHaveProperty(["continuesJobId"]);
    expect(doc.components.schemas.Job.properties).toHaveProperty(["chain"]);
  });
});
