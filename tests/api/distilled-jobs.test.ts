/**
 * A distilled model through the API and a real worker: GET /api/models offers the tiny rCM model with its
 * recipe as defaults, a job with those defaults runs 4 denoising steps with the rCM sampler and yields a valid
 * MP4 carrying the settings, and settings the distillation never saw (or the rCM sampler on a base model) are
 * refused with 422 naming the field.
 */
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { JobJson, ModelJson } from "../../lib/jobs/schemas.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { readGenerationSettings } from "../../lib/video/metadata.ts";
import { probeVideo } from "../../lib/video/probe.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { redisDbUrl, tinyRequest, waitFor } from "../helpers/jobs-context.ts";
import { installTinyModel, TINY_RCM, TINY_T2V } from "../helpers/models.ts";
import { startStudioProcesses, type StudioProcesses } from "../helpers/studio.ts";
import { call, readEvents } from "./helpers.ts";

let studio: StudioProcesses;
const dataDir = tempDir("studio-distilled");
const modelsDir = path.join(dataDir, "models");

beforeAll(async () => {
  await installTinyModel(modelsDir);
  await installTinyModel(modelsDir, { name: TINY_RCM, recipe: "rcm" });
  const redisUrl = redisDbUrl(inject("redisUrl"), 2);
  const redis = createRedis(redisUrl, "distilled-setup");
  await redis.flushdb();
  redis.disconnect();
  studio = await startStudioProcesses({ dataDir, redisUrl, workers: 1, env: { EXECUTION_PROVIDERS: "cpu" } });
});
afterAll(async () => {
  await studio?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("a distilled model through the API", () => {
  it("is listed with its recipe, which its defaults already use", async () => {
    const { body: models } = await call<ModelJson[]>(studio.url, "/api/models");
    const rcm = models.find((m) => m.name === TINY_RCM)!;
    expect(rcm.recipe).toEqual({ name: "rcm", label: "rCM", solver: "rcm", steps: 4, guidance: 1 });
    expect(rcm.defaults).toMatchObject({ solver: "rcm", steps: 4, guidance: 1 });
    expect(models.find((m) => m.name === TINY_T2V)!.recipe).toBeNull();
  });

  it("runs a job with the recipe: 4 denoising steps, a valid MP4 with the settings", async () => {
    let job: JobJson | undefined;
    const { events } = await readEvents(
      `${studio.url}/api/events`,
      (ev) => ev.some((e) => job && (e.data as { jobId?: string }).jobId === job.id && (e.event === "succeeded" || e.event === "failed")),
      {
        timeoutMs: 90_000,
        onOpen: async () => {
          const res = await call<JobJson>(studio.url, "/api/jobs", { method: "POST", json: tinyRequest({ model: TINY_RCM, solver: "rcm", steps: 4, guidance: 1, seed: 5 }) });
          expect(res.status).toBe(201);
          job = res.body;
        },
      },
    );
    const mine = events.filter((e) => (e.data as { jobId?: string }).jobId === job!.id);
    expect(mine.at(-1)!.event).toBe("succeeded");
    const denoise = mine.filter((e) => e.event === "progress" && (e.data as { phase: string }).phase === "denoise").map((e) => e.data as { step: number; total: number });
    expect(denoise.map((p) => p.step)).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(denoise.map((p) => p.total))).toEqual(new Set([4]));

    const done = await waitFor("the job row to say succeeded", async () => {
      const j = (await call<JobJson>(studio.url, `/api/jobs/${job!.id}`)).body;
      return j.status === "succeeded" ? j : undefined;
    });
    const res = await fetch(studio.url + done.videoUrl!);
    const file = path.join(dataDir, "rcm.mp4");
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    expect(await probeVideo(file)).toMatchObject({ codec: "h264", width: 160, height: 96, frames: 9 });
    expect(await readGenerationSettings(file)).toMatchObject({ solver: "rcm", steps: 4, guidance: 1, seed: 5, model: TINY_RCM });
  });

  it("refuses what the distillation never saw with 422 naming the field", async () => {
    const post = (overrides: Record<string, unknown>) => call(studio.url, "/api/jobs", { method: "POST", json: tinyRequest(overrides) });
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ model: TINY_RCM, solver: "rcm", steps: 8, guidance: 1 }, "steps", /rCM samples in 1 to 4 steps/],
      [{ model: TINY_RCM, solver: "rcm", steps: 4, guidance: 5 }, "guidance", /distilled without guidance/],
      [{ model: TINY_T2V, solver: "rcm", steps: 4, guidance: 1 }, "solver", /needs a model distilled with rCM; model wan-tiny is not one/],
    ];
    for (const [overrides, field, message] of cases) {
      const res = await post(overrides);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ error: { field, message: expect.stringMatching(message) } });
    }
  });
});
