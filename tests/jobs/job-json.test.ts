/**
 * What clients see of a job (lib/jobs/job-json.ts) and of a studio without models: a finished job is
 * past all phases; a failed job keeps the engine's and ffmpeg's words but not the server's paths (real
 * SQLite file and Redis, no worker).
 */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { StudioError, withoutServerPaths } from "../../lib/errors.ts";
import { getJob } from "../../lib/jobs/actions.ts";
import { createJob } from "../../lib/jobs/create.ts";
import { createTestJobsContext, tinyRequest, type TestJobsContext } from "../helpers/jobs-context.ts";

let ctx: TestJobsContext;
beforeAll(async () => {
  ctx = await createTestJobsContext({ redisUrl: inject("redisUrl"), redisDb: 2, prefix: "jobs-json" });
});
afterAll(async () => {
  await ctx?.close();
});

describe("a finished job", () => {
  it("reports no phase and every step done, whatever progress the worker wrote last", async () => {
    const job = await createJob(ctx, tinyRequest());
    await ctx.db.job.update({ where: { id: job.id }, data: { status: "succeeded", phase: "decode", step: 2, totalSteps: 3 } });
    expect(await getJob(ctx, job.id)).toMatchObject({ status: "succeeded", phase: null, step: 3, totalSteps: 3, progress: 1 });
  });
});

describe("server paths stay on the server", () => {
  it("a failed job's error names the file, not the folders it is in", async () => {
    const job = await createJob(ctx, tinyRequest());
    const output = path.join(path.dirname(ctx.storage.jobFile(job.id, "video.mp4")), ".video.partial.mp4");
    const error = `ffmpeg failed writing ${output}\nffmpeg said:\n${output}: No space left on device`;
    await ctx.db.job.update({ where: { id: job.id }, data: { status: "failed", error } });
    const shown = (await getJob(ctx, job.id)).error!;
    expect(shown).not.toContain(ctx.dataDir);
    expect(shown).toBe("ffmpeg failed writing .video.partial.mp4\nffmpeg said:\n.video.partial.mp4: No space left on device");
  });

  it("cuts every absolute path to its last part and leaves ratios alone", () => {
    expect(withoutServerPaths("Load model from '/srv/studio/data/models/wan/dit.onnx' failed")).toBe("Load model from 'dit.onnx' failed");
    expect(withoutServerPaths("frame 0/9 at 30000/1001 fps")).toBe("frame 0/9 at 30000/1001 fps");
  });

  it("a studio without models says so without naming its models folder", async () => {
    const empty = { ...ctx, modelsDir: path.join(ctx.dataDir, "no-models") };
    mkdirSync(empty.modelsDir, { recursive: true });
    try {
      await createJob(empty, tinyRequest());
      throw new Error("expected a refusal");
    } catch (e) {
      expect(e).toBeInstanceOf(StudioError);
      expect([(e as StudioError).status, (e as StudioError).field]).toEqual([422, "model"]);
      expect((e as StudioError).message).not.toContain(ctx.dataDir);
    } finally {
      rmSync(empty.modelsDir, { recursive: true, force: true });
    }
  });
});
