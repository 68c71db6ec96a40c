/**
 * Jobs through the whole studio with the real engine: a real `next start` and real worker processes
 * (workers/generate.ts) on a DATA_DIR holding the built-in tiny models (text-to-video, and the 36-channel
 * image-to-video one) and a broken install, on the test Redis. Every job goes through the HTTP API only:
 * events, the MP4 served with byte ranges and checked by ffprobe, cancel of a running and of a queued job,
 * delete, failures the engine really hits, a worker killed with kill -9 mid-job, and image- and
 * video-to-video on both tiny models.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startStepForStrength } from "../../lib/engine/conditioning.ts";
import { effectiveNegativePrompt } from "../../lib/engine/text/negative-prompt.ts";
import { outputSizeForPreset } from "../../lib/images/fit.ts";
import type { JobJson } from "../../lib/jobs/schemas.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { createStorage } from "../../lib/storage/storage.ts";
import { isPartialFile } from "../../lib/video/atomic-file.ts";
import { createMp4Encoder } from "../../lib/video/encoder.ts";
import { readGenerationSettings } from "../../lib/video/metadata.ts";
import { probeVideo } from "../../lib/video/probe.ts";
import { scenePng } from "../browser/media.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { redisDbUrl, tinyRequest, waitFor } from "../helpers/jobs-context.ts";
import { BROKEN_MODEL, installTinyModel, TINY_I2V, TINY_T2V, writeTestModel } from "../helpers/models.ts";
import { startStudioProcesses, type StudioProcesses } from "../helpers/studio.ts";
import { call, readEvents, type SseEvent } from "./helpers.ts";

/** Short locks, so a killed worker's job is taken over within seconds (every worker gets the same value). */
const LOCK_MS = 3000;
/** A job that runs for several seconds: 100 denoising steps of 33 frames, then 9 decode chunks. */
const LONG = { frames: 33, steps: 100 } as const;
/** The input image's size: 16:9, so the 160×96 budget gives a 160×80 video. */
const IMAGE = { width: 640, height: 360 };

let studio: StudioProcesses;
let base: string;
const dataDir = tempDir("studio-real-worker");
const modelsDir = path.join(dataDir, "models");
const storage = createStorage(dataDir);
const scratch = tempDir("real-worker-files");
let png: Buffer;

beforeAll(async () => {
  await installTinyModel(modelsDir);
  await installTinyModel(modelsDir, { i2v: true });
  await writeTestModel(modelsDir, BROKEN_MODEL);
  png = await scenePng(IMAGE.width, IMAGE.height);
  const redisUrl = redisDbUrl(inject("redisUrl"), 4);
  const redis = createRedis(redisUrl, "real-worker-setup");
  await redis.flushdb();
  redis.disconnect();
  studio = await startStudioProcesses({ dataDir, redisUrl, workers: 1, env: { STUDIO_LOCK_MS: String(LOCK_MS), EXECUTION_PROVIDERS: "cpu" } });
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

async function getJob(id: string): Promise<JobJson> {
  return (await call<JobJson>(base, `/api/jobs/${id}`)).body;
}

async function waitForStatus(id: string, status: JobJson["status"], timeoutMs = 60_000): Promise<JobJson> {
  return await waitFor(`job ${id} to be ${status}`, async () => {
    const job = await getJob(id);
    if (job.status === status) return job;
    if (["succeeded", "failed", "canceled"].includes(job.status)) throw new Error(`job ${id} ended ${job.status}: ${job.error}`);
    return undefined;
  }, timeoutMs, 100);
}

async function upload(data: Uint8Array, name: string, type: string): Promise<{ id: string }> {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(data)], { type }), name);
  const res = await call<{ id: string }>(base, "/api/uploads", { method: "POST", body: form });
  if (res.status !== 201) throw new Error(`POST /api/uploads answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The job's MP4 over HTTP, saved under `scratch` for ffprobe and the metadata reader. */
async function download(job: JobJson): Promise<string> {
  const res = await fetch(base + job.videoUrl!);
  expect(res.status).toBe(200);
  const file = path.join(scratch, `${job.id}.mp4`);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

/** Follows a job's own event stream until `until` holds. */
function jobEvents(id: string, until: (events: SseEvent[]) => boolean, timeoutMs = 60_000) {
  return readEvents(`${base}/api/jobs/${id}/events`, until, { timeoutMs });
}

const denoiseStepAtLeast = (n: number) => (events: SseEvent[]) =>
  events.some((e) => e.event === "progress" && (e.data as { phase: string; step: number }).phase === "denoise" && (e.data as { step: number }).step >= n);

/** The worker logged the end of its run of this job (cancel, failure or success). */
function workerSaid(id: string, what: string): Promise<true> {
  return waitFor(`a worker to log "job ${id}: ${what}"`, () => (studio.lines.some((l) => l.startsWith("[worker") && l.includes(`job ${id}: ${what}`)) ? true : undefined), 60_000);
}

const outputs = (id: string): string[] => (existsSync(storage.jobDir(id)) ? readdirSync(storage.jobDir(id)).sort() : []);

describe("text to video through the API and a real worker", () => {
  it("follows a job from POST to a seekable, ffprobe-valid MP4: live events, then video, poster and preview", async () => {
    let job: JobJson | undefined;
    // Listening before the job exists, so every one of its events is seen.
    const { events } = await readEvents(
      `${base}/api/events`,
      (ev) => ev.some((e) => job && (e.data as { jobId?: string }).jobId === job.id && (e.event === "succeeded" || e.event === "failed")),
      { timeoutMs: 90_000, onOpen: async () => void (job = await create(tinyRequest({ seed: 11 }))) },
    );
    const mine = events.filter((e) => (e.data as { jobId?: string }).jobId === job!.id);
    const types = mine.map((e) => e.event);
    expect(types[0]).toBe("queued");
    expect(types[1]).toBe("started");
    expect(types.at(-1)).toBe("succeeded");
    const progress = mine.filter((e) => e.event === "progress").map((e) => e.data as { phase: string; step: number; total: number });
    expect([...new Set(progress.map((p) => p.phase))]).toEqual(["load", "text", "denoise", "decode"]);
    expect(progress.filter((p) => p.phase === "denoise").map((p) => p.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // 9 frames are 3 latent frames, decoded one chunk at a time.
    expect(progress.filter((p) => p.phase === "decode").map((p) => `${p.step}/${p.total}`)).toEqual(["0/3", "1/3", "2/3", "3/3"]);
    expect(types.filter((t) => t === "preview").length).toBeGreaterThanOrEqual(1);

    const done = await getJob(job!.id);
    expect(done).toMatchObject({ status: "succeeded", seed: 11, progress: 1, attempts: 1, error: null });
    expect(Object.keys(done.timings!).sort()).toEqual(["decode", "denoise", "ditCalls", "ditCallsSkipped", "load", "text"]);
    const video = await fetch(base + done.videoUrl!);
    expect(video.status).toBe(200);
    expect(video.headers.get("content-type")).toBe("video/mp4");
    expect(video.headers.get("accept-ranges")).toBe("bytes");
    const bytes = Buffer.from(await video.arrayBuffer());
    const head = await fetch(base + done.videoUrl!, { headers: { range: "bytes=0-1023" } });
    expect(head.status).toBe(206);
    expect(head.headers.get("content-range")).toBe(`bytes 0-1023/${bytes.length}`);
    expect(Buffer.from(await head.arrayBuffer()).equals(bytes.subarray(0, 1024))).toBe(true);
    const file = path.join(scratch, "t2v.mp4");
    writeFileSync(file, bytes);
    expect(await probeVideo(file, { countFrames: true })).toMatchObject({ codec: "h264", width: 160, height: 96, frames: 9, fps: 16 });
    expect(await readGenerationSettings(file)).toMatchObject({ kind: "t2v", prompt: job!.prompt, seed: 11, steps: 8, model: TINY_T2V, width: 160, height: 96, frames: 9 });

    const poster = await fetch(base + done.posterUrl!);
    expect(poster.headers.get("content-type")).toBe("image/jpeg");
    expect(await sharp(Buffer.from(await poster.arrayBuffer())).metadata()).toMatchObject({ width: 160, height: 96 });
    const preview = await fetch(base + done.previewUrl!);
    expect(preview.headers.get("content-type")).toBe("image/webp");
    expect(preview.headers.get("cache-control")).toBe("no-store");
    expect(Buffer.from(await preview.arrayBuffer()).subarray(0, 4).toString()).toBe("RIFF");
    const health = (await call<{ workers: { executionProviders: string[] }[] }>(base, "/api/health")).body;
    expect(health.workers.map((w) => w.executionProviders)).toEqual([["cpu"]]);
  });

  it("cancels a running job: the worker stops within a step or two, leaves no video, and runs the next job", async () => {
    const job = await create(tinyRequest({ ...LONG, prompt: "a long train crossing a bridge" }));
    await jobEvents(job.id, denoiseStepAtLeast(2));
    const canceled = await call<JobJson>(base, `/api/jobs/${job.id}/cancel`, { method: "POST" });
    expect([canceled.status, canceled.body.status]).toEqual([200, "canceled"]);
    await workerSaid(job.id, "canceled");
    // The worker adds what only it knows (the time spent) and leaves the status alone.
    const after = await waitFor("the worker's timings", async () => ((await getJob(job.id)).timings?.denoise ? getJob(job.id) : undefined));
    expect(after).toMatchObject({ status: "canceled", attempts: 1, videoUrl: null });
    expect(after.step).toBeLessThan(LONG.steps);
    expect((await call(base, `/api/jobs/${job.id}/video`)).status).toBe(404);
    expect(outputs(job.id).filter((f) => f !== "preview.webp")).toEqual([]);

    const next = await create(tinyRequest({ frames: 5, steps: 2 }));
    await waitForStatus(next.id, "succeeded");
    expect((await getJob(job.id)).status).toBe("canceled");
  });

  it("cancels a queued job: it leaves the queue and no worker ever runs it", async () => {
    const busy = await create(tinyRequest({ ...LONG, prompt: "keeping the worker busy" }));
    await jobEvents(busy.id, (ev) => ev.some((e) => e.event === "started" || (e.event === "snapshot" && (e.data as JobJson).status === "running")));
    const waiting = await create(tinyRequest({ prompt: "never run" }));
    const canceled = await call<JobJson>(base, `/api/jobs/${waiting.id}/cancel`, { method: "POST" });
    expect([canceled.status, canceled.body.status]).toEqual([200, "canceled"]);
    await call(base, `/api/jobs/${busy.id}/cancel`, { method: "POST" });
    await workerSaid(busy.id, "canceled");
    // A job behind it would have started by now.
    const after = await create(tinyRequest({ frames: 5, steps: 2, prompt: "after the cancels" }));
    await waitForStatus(after.id, "succeeded");
    expect(await getJob(waiting.id)).toMatchObject({ status: "canceled", attempts: 0, startedAt: null });
    expect(studio.lines.filter((l) => l.includes(waiting.id))).toEqual([]);
    expect(existsSync(storage.jobDir(waiting.id))).toBe(false);
  });

  it("DELETE removes a finished job's files", async () => {
    const job = await create(tinyRequest({ frames: 5, steps: 2 }));
    await waitForStatus(job.id, "succeeded");
    expect(outputs(job.id)).toEqual(["poster.a1.jpg", "preview.webp", "video.a1.mp4"]);
    expect((await call(base, `/api/jobs/${job.id}`, { method: "DELETE" })).status).toBe(204);
    expect(existsSync(storage.jobDir(job.id))).toBe(false);
    expect((await call(base, `/api/jobs/${job.id}`)).status).toBe(404);
    expect((await call(base, `/api/jobs/${job.id}/video`)).status).toBe(404);
    expect((await call(base, `/api/jobs/${job.id}/poster`)).status).toBe(404);
  });

  it("fails for real, once and without retries: a model installed without its graphs", async () => {
    const job = await create(tinyRequest({ model: BROKEN_MODEL }));
    const failed = await waitForStatus(job.id, "failed");
    // The API names the model folder, not where it lies on the server's disk.
    expect(failed.error).toBe(`${BROKEN_MODEL}: the model lacks a transformer, VAE, text encoder (convert it into this folder)`);
    expect(failed).toMatchObject({ attempts: 1, videoUrl: null });
    expect(outputs(job.id)).toEqual([]);
  });
});

describe("image and video to video through the API and a real worker", () => {
  const expected = outputSizeForPreset(IMAGE, { width: 160, height: 96 });

  it("sizes the output from the image and the pixel budget (lib/images/fit.ts)", () => {
    // 640×360 in a 15,360-pixel budget: 160×80 (multiples of 16).
    expect(expected).toEqual({ width: 160, height: 80 });
  });

  it("i2v on the text-to-video tiny model: the image's latent held as frame 0", async () => {
    const image = await upload(png, "dusk.png", "image/png");
    const job = await create(tinyRequest({ kind: "i2v", imageUploadId: image.id, fit: "pad", seed: 3, prompt: "the sun sets behind the hills" }));
    const done = await waitForStatus(job.id, "succeeded");
    expect(done).toMatchObject({ kind: "i2v", model: TINY_T2V, inputUploadId: image.id, attempts: 1 });
    expect(done.timings).toHaveProperty("input");
    const file = await download(done);
    expect(await probeVideo(file, { countFrames: true })).toMatchObject({ codec: "h264", ...expected, frames: 9 });
    expect(await readGenerationSettings(file)).toMatchObject({
      kind: "i2v",
      model: TINY_T2V,
      imageMode: "first-frame",
      fit: "pad",
      inputWidth: IMAGE.width,
      inputHeight: IMAGE.height,
      ...expected,
      negativePrompt: effectiveNegativePrompt(undefined, "t2v"),
    });
  });

  it("i2v on the image-to-video tiny model: the 36-channel DiT with CLIP and mask conditioning", async () => {
    const image = await upload(png, "dusk.png", "image/png");
    const job = await create(tinyRequest({ kind: "i2v", imageUploadId: image.id, fit: "crop", seed: 4, model: TINY_I2V, prompt: "birds fly across the evening sky" }));
    // The image-to-video model's own default negative prompt (with its prefix).
    expect(job.negativePrompt).toBe(effectiveNegativePrompt(undefined, "i2v"));
    const done = await waitForStatus(job.id, "succeeded");
    expect(done).toMatchObject({ kind: "i2v", model: TINY_I2V, attempts: 1 });
    const file = await download(done);
    expect(await probeVideo(file, { countFrames: true })).toMatchObject({ codec: "h264", ...expected, frames: 9 });
    expect(await readGenerationSettings(file)).toMatchObject({
      kind: "i2v",
      model: TINY_I2V,
      imageMode: "clip-conditioning",
      fit: "crop",
      ...expected,
      negativePrompt: effectiveNegativePrompt(undefined, "i2v"),
    });
  });

  it("v2v with strength 0.6: the clip is encoded, noised to the start step and re-imagined", async () => {
    const clipFile = path.join(scratch, "clip.mp4");
    const encoder = createMp4Encoder({ file: clipFile, width: 320, height: 180, preset: "ultrafast" });
    for (let i = 0; i < 17; i++) {
      const rgb = new Uint8Array(320 * 180 * 3);
      for (let p = 0; p < 320 * 180; p++) {
        rgb[p * 3] = ((p % 320) + i * 8) % 256;
        rgb[p * 3 + 1] = Math.floor(p / 320) % 256;
        rgb[p * 3 + 2] = 120;
      }
      await encoder.writeFrame(rgb);
    }
    await encoder.finish();
    const clip = await upload(readFileSync(clipFile), "waves.mp4", "video/mp4");
    const job = await create(tinyRequest({ kind: "v2v", videoUploadId: clip.id, strength: 0.6, seed: 5 }));
    const { events } = await jobEvents(job.id, (ev) => ev.some((e) => e.event === "succeeded" || e.event === "failed"), 90_000);
    expect(events.at(-1)!.event).toBe("succeeded");
    const start = startStepForStrength(0.6, 8);
    expect(start).toBe(3);
    // Only the steps from the start step on run.
    const denoise = events.filter((e) => e.event === "progress" && (e.data as { phase: string }).phase === "denoise").map((e) => (e.data as { total: number }).total);
    expect(new Set(denoise)).toEqual(new Set([8 - start]));
    const done = await getJob(job.id);
    const file = await download(done);
    expect(await probeVideo(file, { countFrames: true })).toMatchObject({ codec: "h264", width: 160, height: 80, frames: 9 });
    expect(await readGenerationSettings(file)).toMatchObject({ kind: "v2v", strength: 0.6, startStep: start, inputWidth: 320, inputHeight: 180, inputFrames: 17, width: 160, height: 80, frames: 9 });
  });

  it("fails for real when the input image's file is gone", async () => {
    const image = await upload(png, "gone.png", "image/png");
    rmSync(storage.uploadPath(image.id, storage.uploadFileName(image.id, "png")));
    const job = await create(tinyRequest({ kind: "i2v", imageUploadId: image.id }));
    const failed = await waitForStatus(job.id, "failed");
    expect(failed.error).toBe(`the file of input upload ${image.id} is missing from storage`);
    expect(failed.attempts).toBe(1);
    expect(outputs(job.id).filter((f) => f.endsWith(".mp4") || isPartialFile(f))).toEqual([]);
  });
});

describe("a worker killed mid-job", () => {
  it("kill -9 of the worker process: the job stays unserved, then completes once a new worker starts", async () => {
    const job = await create(tinyRequest({ frames: 33, steps: 30, prompt: "a lighthouse in a storm", seed: 8 }));
    await jobEvents(job.id, denoiseStepAtLeast(2));
    const [first] = studio.workers;
    // The worker's whole process group, as a power cut would.
    process.kill(-first.process.pid!, "SIGKILL");
    await first.exited;
    const orphaned = await getJob(job.id);
    expect(orphaned).toMatchObject({ status: "running", attempts: 1, videoUrl: null });
    expect((await call(base, `/api/jobs/${job.id}/video`)).status).toBe(404);

    await studio.startWorker();
    const done = await waitForStatus(job.id, "succeeded", 120_000);
    expect(done).toMatchObject({ attempts: 2, seed: 8 });
    expect(outputs(job.id)).toEqual(["poster.a2.jpg", "preview.webp", "video.a2.mp4"]);
    const file = await download(done);
    expect(await probeVideo(file, { countFrames: true })).toMatchObject({ codec: "h264", width: 160, height: 96, frames: 33 });
    expect(studio.lines.some((l) => l.startsWith("[worker2]") && l.includes(`job ${job.id}: attempt 2`))).toBe(true);
  });
});
