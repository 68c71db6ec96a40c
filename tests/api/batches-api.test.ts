/**
 * Batches through the whole studio: a real `next start` and two real worker processes (workers/generate.ts,
 * the engine on the tiny model), real SQLite and the test Redis, all over HTTP. One POST makes N videos
 * with seeds s, s+1, … (checked in the job JSON and in each MP4's metadata), or one video per prompt;
 * the group is read, canceled (queued and running jobs) and deleted as one; bad batches get a 400 that
 * names the field; the OpenAPI document describes it all.
 */
import { createHash } from "node:crypto";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { batchSchema, type BatchJson, type JobJson } from "../../lib/jobs/schemas.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { BATCH_LIMITS } from "../../lib/schemas/batch.ts";
import { createStorage } from "../../lib/storage/storage.ts";
import { readGenerationSettings } from "../../lib/video/metadata.ts";
import { probeVideo } from "../../lib/video/probe.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { redisDbUrl, tinyRequest, waitFor } from "../helpers/jobs-context.ts";
import { installTinyModel } from "../helpers/models.ts";
import { startStudioProcesses, type StudioProcesses } from "../helpers/studio.ts";
import { call } from "./helpers.ts";

/** Jobs that run for several seconds: 100 denoising steps of 33 frames. */
const LONG = { frames: 33, steps: 100 } as const;
/** Quick ones: 4 steps of 9 frames. */
const QUICK = { frames: 9, steps: 4 } as const;

let studio: StudioProcesses;
let base: string;
const dataDir = tempDir("studio-batches");
const storage = createStorage(dataDir);
const scratch = tempDir("batches-files");

beforeAll(async () => {
  await installTinyModel(path.join(dataDir, "models"));
  const redisUrl = redisDbUrl(inject("redisUrl"), 11);
  const redis = createRedis(redisUrl, "batches-setup");
  await redis.flushdb();
  redis.disconnect();
  studio = await startStudioProcesses({ dataDir, redisUrl, workers: 2, env: { EXECUTION_PROVIDERS: "cpu" } });
  base = studio.url;
});
afterAll(async () => {
  await studio?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

type ErrorBody = { error: { code: string; message: string; field?: string } };

async function createBatch(body: Record<string, unknown>): Promise<BatchJson> {
  const res = await call<BatchJson>(base, "/api/batches", { method: "POST", json: body });
  if (res.status !== 201) throw new Error(`POST /api/batches answered ${res.status}: ${JSON.stringify(res.body)}`);
  expect(res.headers.get("location")).toBe(`/api/batches/${res.body.id}`);
  return res.body;
}

const getBatch = async (id: string) => await call<BatchJson>(base, `/api/batches/${id}`);

async function waitForBatch(id: string, done: (b: BatchJson) => boolean, timeoutMs = 120_000): Promise<BatchJson> {
  return await waitFor(`batch ${id}`, async () => {
    const { body } = await getBatch(id);
    return done(body) ? body : undefined;
  }, timeoutMs, 200);
}

async function download(job: JobJson): Promise<{ file: string; sha256: string }> {
  const res = await fetch(base + job.videoUrl!);
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  const file = path.join(scratch, `${job.id}.mp4`);
  writeFileSync(file, bytes);
  return { file, sha256: createHash("sha256").update(bytes).digest("hex") };
}

describe("POST /api/batches on real workers", () => {
  it("makes N videos from seeds s, s+1, … of one prompt: each seed recorded in the job and its MP4", async () => {
    const created = await createBatch(tinyRequest({ ...QUICK, prompt: "a lighthouse in a storm", seed: 500, count: 3 }));
    expect(batchSchema.parse(created)).toEqual(created);
    expect(created.jobs.map((j) => [j.batchIndex, j.seed, j.status])).toEqual([
      [0, 500, "queued"],
      [1, 501, "queued"],
      [2, 502, "queued"],
    ]);
    const done = await waitForBatch(created.id, (b) => !b.active);
    expect(done.counts).toEqual({ queued: 0, running: 0, succeeded: 3, failed: 0, canceled: 0 });
    const hashes = new Set<string>();
    for (const [i, job] of done.jobs.entries()) {
      const { file, sha256 } = await download(job);
      hashes.add(sha256);
      expect(await probeVideo(file, { countFrames: true })).toMatchObject({ codec: "h264", width: 160, height: 96, frames: 9 });
      expect(await readGenerationSettings(file)).toMatchObject({ prompt: "a lighthouse in a storm", seed: 500 + i, steps: 4 });
    }
    // Different seeds, different noise: three different videos.
    expect(hashes.size).toBe(3);
    // The history says which group each job belongs to, and lists the group on its own.
    const listed = await call<{ jobs: JobJson[] }>(base, `/api/jobs?batch=${created.id}`);
    expect(listed.body.jobs.map((j) => j.id).sort()).toEqual(created.jobs.map((j) => j.id).sort());
    expect((await call<JobJson>(base, `/api/jobs/${created.jobs[1].id}`)).body).toMatchObject({ batchId: created.id, batchIndex: 1 });
  });

  it("draws one random s for a batch without a seed, and makes one video per prompt with the same seeds", async () => {
    const random = await createBatch(tinyRequest({ ...QUICK, steps: 1, frames: 1, count: 2 }));
    const s = random.jobs[0].seed!;
    expect(random.jobs.map((j) => j.seed)).toEqual([s, s + 1]);
    const prompts = await createBatch({ ...tinyRequest({ ...QUICK, steps: 1, frames: 1, seed: 9 }), prompt: undefined, prompts: ["a red kite", "a blue kite"] });
    expect(prompts.jobs.map((j) => [j.prompt, j.seed])).toEqual([
      ["a red kite", 9],
      ["a blue kite", 9],
    ]);
    for (const b of [random, prompts]) expect((await waitForBatch(b.id, (x) => !x.active)).counts.succeeded).toBe(2);
  });
});

describe("a batch canceled and deleted as one", () => {
  it("cancel stops the running jobs and takes the queued ones off the queue; the workers go on with other work", async () => {
    const batch = await createBatch(tinyRequest({ ...LONG, prompt: "a slow sunrise", count: 4 }));
    // Two workers: two of them run, two wait.
    await waitForBatch(batch.id, (b) => b.counts.running === 2, 60_000);
    const canceled = await call<BatchJson>(base, `/api/batches/${batch.id}/cancel`, { method: "POST" });
    expect(canceled.status).toBe(200);
    expect(canceled.body.counts).toEqual({ queued: 0, running: 0, succeeded: 0, failed: 0, canceled: 4 });
    // Never started: the two that were queued.
    expect(canceled.body.jobs.filter((j) => j.startedAt === null).length).toBe(2);
    // Canceling again changes nothing and is no error.
    expect((await call<BatchJson>(base, `/api/batches/${batch.id}/cancel`, { method: "POST" })).body.counts.canceled).toBe(4);
    // The workers are free again: a job after the cancel runs to the end, and no canceled job produced a video.
    const after = await call<JobJson>(base, "/api/jobs", { method: "POST", json: tinyRequest({ ...QUICK, prompt: "after the cancel" }) });
    await waitFor("the job after the cancel", async () => ((await call<JobJson>(base, `/api/jobs/${after.body.id}`)).body.status === "succeeded" ? true : undefined), 60_000, 200);
    const final = (await getBatch(batch.id)).body;
    expect(final.jobs.map((j) => [j.status, j.videoUrl])).toEqual(batch.jobs.map(() => ["canceled", null]));
  });

  it("delete cancels what is queued or running, then removes every job and file of the group", async () => {
    const batch = await createBatch(tinyRequest({ ...LONG, prompt: "a field of wheat", count: 3 }));
    await waitForBatch(batch.id, (b) => b.counts.running >= 1, 60_000);
    const res = await call(base, `/api/batches/${batch.id}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect((await getBatch(batch.id)).status).toBe(404);
    for (const job of batch.jobs) expect((await call(base, `/api/jobs/${job.id}`)).status).toBe(404);
    // A worker finishing its step after the delete removes what it wrote.
    await waitFor("the deleted jobs' files to be gone", () => (batch.jobs.every((j) => !existsSync(storage.jobDir(j.id))) ? true : undefined), 30_000, 200);
    expect((await call<ErrorBody>(base, `/api/batches/${batch.id}`, { method: "DELETE" })).status).toBe(404);
  });
});

describe("bad batches", () => {
  it("answer 400 naming the field, and create nothing", async () => {
    const before = (await call<{ jobs: JobJson[] }>(base, "/api/jobs?limit=100")).body.jobs.length;
    const noPrompt = { ...tinyRequest({ count: 2 }), prompt: undefined };
    const cases: [Record<string, unknown>, string][] = [
      [tinyRequest({ count: BATCH_LIMITS.maxJobs + 1 }), "count"],
      [tinyRequest({ count: "three" }), "count"],
      [{ ...noPrompt, prompts: ["a", "b", "c", ""] }, "prompts.3"],
      [{ ...noPrompt, prompts: ["a", "b", "c", "d"], count: 5 }, "count"],
      [tinyRequest({ prompts: ["a"] }), "prompts"],
      [noPrompt, "prompt"],
      [tinyRequest({ count: 2, frames: 10 }), "frames"],
      [tinyRequest({ count: 2, batchId: "x" }), "batchId"],
    ];
    for (const [body, field] of cases) {
      const res = await call<ErrorBody>(base, "/api/batches", { method: "POST", json: body });
      expect({ field, status: res.status, named: res.body.error?.field }).toEqual({ field, status: 400, named: field });
    }
    expect((await call<ErrorBody>(base, "/api/batches", { method: "POST", json: tinyRequest({ count: 2, width: 832, height: 480 }) })).status).toBe(422);
    expect((await call<{ jobs: JobJson[] }>(base, "/api/jobs?limit=100")).body.jobs.length).toBe(before);
    expect((await call<ErrorBody>(base, "/api/batches/not-a-batch-id")).status).toBe(404);
    expect((await call<ErrorBody>(base, "/api/batches/..%2F..%2Fetc")).status).toBe(404);
    expect((await call<ErrorBody>(base, "/api/batches")).status).toBe(405);
    expect((await call<ErrorBody>(base, "/api/jobs?batch=../x")).body.error.field).toBe("batch");
  });

  it("the OpenAPI document describes the batch endpoints and fields", async () => {
    const doc = (await call<{ paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, { properties: Record<string, unknown> }> } }>(base, "/api/openapi.json")).body;
    expect(Object.keys(doc.paths["/api/batches"])).toEqual(["post"]);
    expect(Object.keys(doc.paths["/api/batches/{id}"]).sort()).toEqual(["delete", "get", "parameters"]);
    expect(Object.keys(doc.paths["/api/batches/{id}/cancel"]).sort()).toEqual(["parameters", "post"]);
    expect(doc.components.schemas.CreateBatchRequest.properties).toHaveProperty("count");
    expect(doc.components.schemas.CreateBatchRequest.properties).toHaveProperty("prompts");
    expect(doc.components.schemas.Job.properties).toHaveProperty("batchId");
    expect(doc.components.schemas.Batch.properties).toHaveProperty("counts");
  });
});
