/**
 * Image- and video-to-video in the engine (official wan/image2video.py, WanI2V.generate): the I2V conditioning tensors rebuilt from the
 * goldens' image with the fixture's VAE, first-frame conditioning on a text-to-video model (the first decoded
 * frame is exactly the VAE reconstruction of the image), the 36-channel path on the tiny Fun-InP-style model,
 * video-to-video from a clip, and image preparation (EXIF, alpha, crop/pad, output size).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { firstFrameMask, imageConditionY, imageLatent, startStepForStrength } from "../../lib/engine/conditioning.ts";
import { denoise, firstFrameOf } from "../../lib/engine/denoise.ts";
import { loadModel, type LoadedModel } from "../../lib/engine/model.ts";
import { WanPipeline } from "../../lib/engine/pipeline.ts";
import { resolveRuntime, type ResolvedRuntime } from "../../lib/engine/runtime.ts";
import { createScheduler } from "../../lib/engine/schedulers/create-scheduler.ts";
import { negativePromptFor } from "../../lib/engine/text/negative-prompt.ts";
import { createVaeSessions, decodeLatents, releaseVaeSessions } from "../../lib/engine/vae.ts";
import { outputSizeForPreset } from "../../lib/images/fit.ts";
import { prepareImage, rgbToTensor } from "../../lib/images/prepare.ts";
import { generateTinyModel } from "../../lib/model-library/tiny.ts";
import { generationParamsSchema } from "../../lib/schemas/generation.ts";
import { createMp4Encoder, mp4FileSink } from "../../lib/video/encoder.ts";
import { readGenerationSettings } from "../../lib/video/metadata.ts";
import { probeVideo } from "../../lib/video/probe.ts";
import { convertModel } from "../../models/convert/convert.ts";
import { readManifest } from "../../models/manifest.ts";
import { fixture, goldens, maxAbsDiff, tempDir } from "../helpers/fixtures.ts";

const work = tempDir("i2v-test");
let runtime: ResolvedRuntime;
let t2v: LoadedModel;
let i2v: LoadedModel;
let imageFile: string;

beforeAll(async () => {
  runtime = await resolveRuntime({ executionProviders: ["cpu"], threads: 0 });
  await generateTinyModel({ outDir: path.join(work, "t2v"), seed: 2 });
  await generateTinyModel({ outDir: path.join(work, "i2v"), seed: 2, i2v: true });
  t2v = await loadModel(path.join(work, "t2v"), runtime);
  i2v = await loadModel(path.join(work, "i2v"), runtime);
  // A 300×200 picture with structure (a gradient and a disc), so reconstructions can be told apart.
  const w = 300;
  const h = 200;
  const rgb = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 3;
      const inDisc = (x - 180) ** 2 + (y - 90) ** 2 < 50 ** 2;
      rgb[p] = inDisc ? 240 : Math.round((x / w) * 200);
      rgb[p + 1] = inDisc ? 200 : Math.round((y / h) * 180);
      rgb[p + 2] = inDisc ? 40 : 120;
    }
  }
  imageFile = path.join(work, "picture.png");
  await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(imageFile);
});
afterAll(async () => {
  await t2v?.release();
  await i2v?.release();
  rmSync(work, { recursive: true, force: true });
});

const base = generationParamsSchema.parse({
  prompt: "a disc rolling over a gradient",
  width: 160,
  height: 96,
  frames: 9,
  steps: 4,
  guidance: 5,
  shift: 5,
  solver: "unipc",
  seed: 5,
});

describe("image-to-video conditioning (official wan/image2video.py, WanI2V.generate (mask, image latent, y))", () => {
  it("rebuilds the official mask, image latent and y from dit_i2v_image with the fixture's VAE", async () => {
    const model = path.join(work, "fixture-vae");
    await convertModel({ source: fixture("vae"), outDir: model, precision: "fp32" });
    const manifest = await readManifest(model);
    const encoder = await createVaeSessions(model, manifest.components.vae!.files, runtime, "encoder");
    try {
      const G = await goldens("goldens_i2v.safetensors");
      const [, H, W] = G.info("dit_i2v_image").shape;
      const [, F, h, w] = G.info("dit_i2v_y_latent").shape;
      const y = await imageConditionY(encoder, await G.readFloat32("dit_i2v_image"), 9, H, W, 8);
      expect(y.length).toBe(20 * F * h * w);
      expect(maxAbsDiff(y.subarray(0, 4 * F * h * w), await G.readFloat32("dit_i2v_y_mask"))).toBe(0);
      expect(maxAbsDiff(y.subarray(4 * F * h * w), await G.readFloat32("dit_i2v_y_latent"))).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(y, await G.readFloat32("dit_i2v_y"))).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(firstFrameMask(F, h, w), await G.readFloat32("dit_i2v_y_mask"))).toBe(0);
    } finally {
      await releaseVaeSessions(encoder);
    }
  });
});

describe("first-frame conditioning on a text-to-video model", () => {
  it("holds the image's latent in frame 0, so the first decoded frame is exactly the VAE reconstruction", async () => {
    const prepared = await prepareImage(imageFile, { width: base.width, height: base.height }, "crop");
    const { width: W, height: H } = prepared.output;
    const z0 = await imageLatent(await t2v.vaeEncoder(), rgbToTensor(prepared.frame), H, W);
    const shape = { channels: 16, frames: 3, height: H / 8, width: W / 8 };
    const noise = Float32Array.from({ length: 16 * 3 * shape.height * shape.width }, (_, i) => Math.sin(i * 12.9898) * 1.3);
    const cond = await t2v.prompts.encode(base.prompt);
    const { latent } = await denoise({
      dit: t2v.dit,
      scheduler: createScheduler("unipc", { steps: 4, shift: 5 }),
      shape,
      initial: noise,
      cond: { data: cond.data, rows: cond.rows },
      uncond: { data: cond.data, rows: cond.rows },
      guidance: 1,
      firstFrame: { latent: z0 },
    });
    expect(maxAbsDiff(firstFrameOf(latent, shape), z0)).toBe(0);
    const first = async (lat: Float32Array, frames: number) => {
      for await (const chunk of decodeLatents(t2v.vae, lat, frames, shape.height, shape.width)) return chunk.frames;
      throw new Error("no chunk");
    };
    const generated = await first(latent, 3);
    const reconstruction = await first(z0, 1);
    expect(generated.length).toBe(3 * H * W);
    expect(maxAbsDiff(generated, reconstruction)).toBe(0);
    // …and it really is the picture: the reconstruction differs from a decode of noise.
    expect(maxAbsDiff(await first(noise.subarray(0, z0.length), 1), reconstruction)).toBeGreaterThan(0.1);
  });

  it("runs an i2v job on the text-to-video model end to end at the size the studio previews", async () => {
    const out = tempDir("i2v-t2v-job");
    const result = await new WanPipeline(t2v).generate({ ...base, kind: "i2v", input: imageFile, fit: "pad" }, mp4FileSink(out));
    const expected = outputSizeForPreset({ width: 300, height: 200 }, { width: base.width, height: base.height });
    expect({ width: result.width, height: result.height }).toEqual(expected);
    expect(await probeVideo(result.videoFile)).toMatchObject({ ...expected, frames: 9 });
    expect(await readGenerationSettings(result.videoFile)).toMatchObject({ kind: "i2v", fit: "pad", imageMode: "first-frame" });
  });
});

describe("the 36-channel image-to-video path (tiny Fun-InP-style model)", () => {
  it("encodes CLIP features and the mask/latent channels and generates", async () => {
    const out = tempDir("i2v-36ch-job");
    const phases: string[] = [];
    const result = await new WanPipeline(i2v).generate({ ...base, kind: "i2v", input: imageFile, fit: "crop" }, mp4FileSink(out), {
      onProgress: (p) => phases.push(p.phase),
    });
    expect([...new Set(phases)]).toEqual(["text", "input", "denoise", "decode"]);
    expect(result.settings).toMatchObject({ imageMode: "clip-conditioning", negativePrompt: expect.stringMatching(/^镜头晃动，色调艳丽/) });
    expect((await probeVideo(result.videoFile)).frames).toBe(9);
  });

  it("refuses a text-only job on an image-to-video model with a clear message", async () => {
    await expect(new WanPipeline(i2v).generate(base, mp4FileSink(tempDir("i2v-t2v")))).rejects.toThrow(/image-to-video model: give it an image/);
  });
});

/** A clip of `frames` patterned frames, written with the real encoder. */
async function writeClip(name: string, width: number, height: number, frames: number): Promise<string> {
  const clip = path.join(work, name);
  const enc = createMp4Encoder({ file: clip, width, height, fps: 16 });
  for (let i = 0; i < frames; i++) await enc.writeFrame(Uint8Array.from({ length: width * height * 3 }, (_, p) => (p * 7 + i * 31) & 255));
  await enc.finish();
  return clip;
}

/** An empty output folder for one job. */
function jobFolder(name: string): string {
  const out = tempDir(name);
  mkdirSync(out, { recursive: true });
  return out;
}

describe("video-to-video", () => {
  it("encodes the clip, starts at the strength's step and keeps the clip's aspect within the pixel budget", async () => {
    const clip = await writeClip("clip.mp4", 192, 112, 12);
    const out = jobFolder("v2v-job");
    const steps: number[] = [];
    const result = await new WanPipeline(t2v).generate({ ...base, steps: 10, kind: "v2v", input: clip, strength: 0.6 }, mp4FileSink(out), {
      onProgress: (p) => p.phase === "denoise" && steps.push(p.total),
    });
    expect(startStepForStrength(0.6, 10)).toBe(4);
    expect(steps.at(-1)).toBe(6); // steps 4…9 run
    // 12 frames in the clip: the largest 4k+1 ≤ min(9 requested, 12) = 9.
    expect(result.frames).toBe(9);
    expect({ width: result.width, height: result.height }).toEqual(outputSizeForPreset({ width: 192, height: 112 }, { width: 160, height: 96 }));
    expect(await readGenerationSettings(result.videoFile)).toMatchObject({ kind: "v2v", strength: 0.6, startStep: 4 });
  });

  it("on an image-to-video model, conditions on the first frame with the negative prompt the API stores", async () => {
    const clip = await writeClip("clip-i2v.mp4", 160, 96, 5);
    const result = await new WanPipeline(i2v).generate(
      { ...base, steps: 4, frames: 5, kind: "v2v", input: clip, strength: 0.5 },
      mp4FileSink(jobFolder("v2v-i2v-job")),
    );
    // What the CLI runs (no negative prompt given) is what POST /api/jobs stores for the same request.
    expect(result.settings.negativePrompt).toBe(negativePromptFor(undefined, "i2v", "v2v"));
    expect(result.settings.negativePrompt).toMatch(/^镜头晃动，色调艳丽/);
  });

  it("maps strength to the starting step (1 = from pure noise, always at least one step)", () => {
    expect(startStepForStrength(1, 50)).toBe(0);
    expect(startStepForStrength(0, 50)).toBe(49);
    expect(startStepForStrength(0.5, 50)).toBe(25);
    expect(() => startStepForStrength(1.5, 50)).toThrow(/strength must be in \[0, 1\]/);
  });
});

describe("image preparation", () => {
  it("applies EXIF orientation and flattens transparency, computing the size on the upright image", async () => {
    // A 40×20 image stored with orientation 6 (rotate 90° clockwise to view): upright it is 20×40.
    const stored = await sharp({ create: { width: 40, height: 20, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0 } } })
      .composite([{ input: Buffer.from([0, 255, 0, 255]), raw: { width: 1, height: 1, channels: 4 }, top: 0, left: 0 }])
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const file = path.join(work, "rotated.jpg");
    writeFileSync(file, stored);
    expect((await sharp(file).metadata()).orientation).toBe(6);
    const prepared = await prepareImage(file, { width: 128, height: 128 }, "pad");
    expect(prepared.original.width).toBe(20);
    expect(prepared.original.height).toBe(40);
    expect(prepared.output).toEqual(outputSizeForPreset({ width: 20, height: 40 }, { width: 128, height: 128 }));
    expect(prepared.output.height).toBeGreaterThan(prepared.output.width);
  });

  it("letterboxes with black for pad and fills the frame for crop", async () => {
    const file = path.join(work, "wide.png");
    await sharp({ create: { width: 400, height: 100, channels: 3, background: { r: 250, g: 250, b: 250 } } }).png().toFile(file);
    const padded = await prepareImage(file, { width: 64, height: 64 }, "pad");
    const cropped = await prepareImage(file, { width: 64, height: 64 }, "crop");
    expect(padded.output).toEqual(cropped.output);
    const { width, height, rgb } = padded.frame;
    const at = (img: { rgb: Uint8Array; width: number }, x: number, y: number) => img.rgb[(y * img.width + x) * 3];
    expect(width * height * 3).toBe(rgb.length);
    // The output keeps roughly the 4:1 aspect, so both fits agree on the size; pad adds bars only where the
    // rounding to multiples of 16 leaves room, and crop has none.
    expect(Math.min(...Array.from({ length: width }, (_, x) => at(cropped.frame, x, 0)))).toBeGreaterThan(200);
    expect(at(padded.frame, Math.floor(width / 2), Math.floor(height / 2))).toBeGreaterThan(200);
  });
});
