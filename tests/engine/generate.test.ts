/**
 * Prompt → MP4 on the built-in tiny model: the `npm run generate` CLI writes a valid H.264 file of the
 * requested size and frame count with the settings in its metadata; one seed gives identical frames;
 * a random seed is reported; progress, previews and cancellation behave.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CanceledError } from "../../lib/engine/denoise.ts";
import { loadModel, type LoadedModel } from "../../lib/engine/model.ts";
import { WanPipeline, type GenerationProgress } from "../../lib/engine/pipeline.ts";
import { resolveRuntime } from "../../lib/engine/runtime.ts";
import { generateTinyModel } from "../../lib/model-library/tiny.ts";
import { generationParamsSchema, type GenerationParams } from "../../lib/schemas/generation.ts";
import { decodeVideoFrames } from "../../lib/video/decode.ts";
import { mp4FileSink } from "../../lib/video/encoder.ts";
import { readGenerationSettings } from "../../lib/video/metadata.ts";
import { probeVideo } from "../../lib/video/probe.ts";
import { tempDir } from "../helpers/fixtures.ts";

const run = promisify(execFile);
const work = tempDir("generate-test");
const modelDir = path.join(work, "model");
let model: LoadedModel;

beforeAll(async () => {
  await generateTinyModel({ outDir: modelDir, seed: 1 });
  model = await loadModel(modelDir, await resolveRuntime({ executionProviders: ["cpu"], threads: 0 }));
});
afterAll(async () => {
  await model?.release();
  rmSync(work, { recursive: true, force: true });
});

const base: GenerationParams = generationParamsSchema.parse({
  prompt: "a red kite over a green hill",
  width: 96,
  height: 64,
  frames: 9,
  steps: 6,
  guidance: 5,
  shift: 5,
  solver: "unipc",
  seed: 1234,
});

async function frames(file: string, width: number, height: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const f of decodeVideoFrames(file, { width, height, maxFrames: 1000 })) out.push(Buffer.from(f));
  return out;
}

describe("npm run generate", () => {
  it("writes an H.264 MP4 of the requested size and frame count with the settings in its metadata", async () => {
    const out = path.join(work, "cli", "kite.mp4");
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "cli/generate.ts", "--model", modelDir, "--prompt", "a red kite", "--width", "112", "--height", "80", "--seconds", "0.5", "--steps", "4", "--seed", "99", "--out", out],
      { env: { ...process.env, DATA_DIR: path.join(work, "data") } },
    );
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ seed: 99, width: 112, height: 80, frames: 9 });
    const probe = await probeVideo(out);
    expect(probe).toMatchObject({ codec: "h264", width: 112, height: 80, frames: 9, pixFmt: "yuv420p", fps: 16 });
    expect(existsSync(out.replace(/\.mp4$/, ".jpg"))).toBe(true);
    const settings = await readGenerationSettings(out);
    expect(settings).toMatchObject({ prompt: "a red kite", seed: 99, steps: 4, guidance: 5, shift: 5, solver: "unipc", width: 112, height: 80, frames: 9, model: model.name });
    expect(String(settings!.negativePrompt)).toMatch(/^色调艳丽/);
    expect(String(settings!.version)).toMatch(/^wan-studio /);
  });

  it("animates an image with --image and restyles a clip with --video --strength", async () => {
    const png = path.join(work, "in.png");
    await sharp({ create: { width: 120, height: 90, channels: 3, background: { r: 30, g: 160, b: 220 } } }).png().toFile(png);
    const i2v = path.join(work, "cli", "i2v.mp4");
    const cli = (args: string[]) => run(process.execPath, ["--import", "tsx", "cli/generate.ts", "--model", modelDir, "--prompt", "sky", "--steps", "3", ...args]);
    const fromImage = JSON.parse((await cli(["--image", png, "--fit", "pad", "--out", i2v])).stdout);
    expect(fromImage.settings).toMatchObject({ kind: "i2v", fit: "pad", imageMode: "first-frame" });
    expect(await probeVideo(i2v)).toMatchObject({ width: fromImage.width, height: fromImage.height, frames: 9 });
    const v2v = path.join(work, "cli", "v2v.mp4");
    const fromVideo = JSON.parse((await cli(["--video", i2v, "--strength", "0.6", "--out", v2v])).stdout);
    expect(fromVideo.settings).toMatchObject({ kind: "v2v", strength: 0.6 });
    expect((await probeVideo(v2v)).frames).toBe(9);
    await expect(cli(["--video", i2v, "--strength", "2", "--out", v2v])).rejects.toMatchObject({
      stderr: expect.stringMatching(/--strength: strength must be between 0 and 1/),
    });
  });

  it("rejects a bad value with a message naming it", async () => {
    const attempt = run(process.execPath, ["--import", "tsx", "cli/generate.ts", "--model", modelDir, "--prompt", "x", "--frames", "10", "--out", path.join(work, "x.mp4")]);
    await expect(attempt).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--frames: frames must be 4k\+1/) });
  });
});

describe("the generation pipeline", () => {
  it("gives bit-identical frames for the same seed and settings, and different ones for another seed", async () => {
    const pipeline = new WanPipeline(model);
    const dirs = ["a", "b", "c"].map((d) => tempDir(`gen-${d}`));
    await pipeline.generate(base, mp4FileSink(dirs[0]));
    await pipeline.generate(base, mp4FileSink(dirs[1]));
    await pipeline.generate({ ...base, seed: 1235 }, mp4FileSink(dirs[2]));
    const [a, b, c] = await Promise.all(dirs.map((d) => frames(path.join(d, "video.mp4"), base.width, base.height)));
    expect(a).toHaveLength(9);
    expect(a.every((f, i) => f.equals(b[i]))).toBe(true);
    expect(a.some((f, i) => !f.equals(c[i]))).toBe(true);
  });

  it("draws and reports a seed when none is given", async () => {
    let reported: number | undefined;
    const result = await new WanPipeline(model).generate({ ...base, seed: undefined }, mp4FileSink(tempDir("gen-random")), { onSeed: (s) => (reported = s) });
    expect(Number.isInteger(reported)).toBe(true);
    expect(result.seed).toBe(reported);
    expect(result.settings.seed).toBe(reported);
  });

  it("reports phases in order with steps, ETA and previews", async () => {
    const events: GenerationProgress[] = [];
    const previews: { bytes: Uint8Array; step: number }[] = [];
    const result = await new WanPipeline(model).generate(base, mp4FileSink(tempDir("gen-progress")), {
      onProgress: (p) => events.push(p),
      onPreview: (bytes, step) => previews.push({ bytes, step }),
    });
    const phases = [...new Set(events.map((e) => e.phase))];
    expect(phases).toEqual(["text", "denoise", "decode"]);
    const steps = events.filter((e) => e.phase === "denoise").map((e) => e.step);
    expect(steps).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(events.filter((e) => e.phase === "denoise" && e.step > 0).every((e) => e.etaS !== null && e.etaS >= 0)).toBe(true);
    expect(events.filter((e) => e.phase === "decode").map((e) => `${e.step}/${e.total}`).at(-1)).toBe("3/3");
    expect(previews.length).toBeGreaterThanOrEqual(1);
    expect(Buffer.from(previews[0].bytes.subarray(0, 4)).toString()).toBe("RIFF");
    expect(Object.keys(result.timings).sort()).toEqual(["decode", "denoise", "text"]);
  });

  it("stops at the next step when canceled, leaving no video behind", async () => {
    const controller = new AbortController();
    const dir = tempDir("gen-cancel");
    let lastStep = 0;
    const attempt = new WanPipeline(model).generate({ ...base, steps: 20 }, mp4FileSink(dir), {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === "denoise") lastStep = p.step;
        if (p.phase === "denoise" && p.step === 2) controller.abort();
      },
    });
    await expect(attempt).rejects.toBeInstanceOf(CanceledError);
    expect(lastStep).toBe(2);
    expect(readdirSync(dir).filter((f) => f.endsWith(".mp4"))).toEqual([]);
  });

  it("stops between decode chunks when canceled during the decode", async () => {
    const controller = new AbortController();
    const dir = tempDir("gen-cancel-decode");
    const attempt = new WanPipeline(model).generate({ ...base, frames: 17 }, mp4FileSink(dir), {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === "decode" && p.step === 2) controller.abort();
      },
    });
    await expect(attempt).rejects.toBeInstanceOf(CanceledError);
    expect(readdirSync(dir).filter((f) => f.endsWith(".mp4"))).toEqual([]);
  });

  it("skips the unconditional pass when guidance ≤ 1 (and still produces a video)", async () => {
    const result = await new WanPipeline(model).generate({ ...base, guidance: 1 }, mp4FileSink(tempDir("gen-nocfg")));
    expect((await probeVideo(result.videoFile)).frames).toBe(9);
  });
});
