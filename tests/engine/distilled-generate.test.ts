/**
 * A distilled recipe end to end on the tiny model: `npm run models -- tiny --recipe rcm` writes a tiny
 * "distilled" model (the same random weights, the rCM recipe in its manifest); `npm run generate` and the
 * pipeline sample it with the rCM sampler in 4 DiT calls without guidance; settings the distillation never saw
 * are refused with a message naming the flag; an rCM-named official-layout checkpoint (keys under `net.`) is
 * recognised at conversion.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { mp4FileSink } from "../../lib/video/encoder.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiTRunner } from "../../lib/engine/dit.ts";
import { gaussianNoise } from "../../lib/engine/noise.ts";
import { loadModel, type LoadedModel } from "../../lib/engine/model.ts";
import { WanPipeline } from "../../lib/engine/pipeline.ts";
import { resolveRuntime } from "../../lib/engine/runtime.ts";
import { TINY_DIT, TINY_SOURCE_DIR } from "../../lib/model-library/tiny.ts";
import { generationParamsSchema } from "../../lib/schemas/generation.ts";
import { readGenerationSettings } from "../../lib/video/metadata.ts";
import { probeVideo } from "../../lib/video/probe.ts";
import { convertModel } from "../../models/convert/convert.ts";
import { readManifest, TINY_DEFAULTS, writeManifest } from "../../models/manifest.ts";
import { ditKeyFromDiffusers, RCM_PREFIX } from "../../models/wan/dit-checkpoint.ts";
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from "../../models/weights/safetensors.ts";
import { tempDir } from "../helpers/fixtures.ts";

const run = promisify(execFile);
const work = tempDir("distilled-test");
const distilledDir = path.join(work, "tiny-rcm");
const baseDir = path.join(work, "tiny-base");
let model: LoadedModel;

const cli = (script: string, args: string[]) => run(process.execPath, ["--import", "tsx", script, ...args], { env: { ...process.env, DATA_DIR: path.join(work, "data") } });

beforeAll(async () => {
  await cli("cli/models.ts", ["tiny", "--out", distilledDir, "--seed", "1", "--recipe", "rcm"]);
  // The same weights sampled the base model's way: the manifest without the recipe.
  cpSync(distilledDir, baseDir, { recursive: true });
  const m = await readManifest(baseDir);
  await writeManifest(baseDir, { ...m, name: "tiny-base", recipe: null, defaults: TINY_DEFAULTS });
  model = await loadModel(distilledDir, await resolveRuntime({ executionProviders: ["cpu"], threads: 0 }));
}, 120_000);
afterAll(async () => {
  await model?.release();
  rmSync(work, { recursive: true, force: true });
});

describe("the tiny distilled model", () => {
  it("carries the rCM recipe in its manifest and defaults to it", async () => {
    const m = await readManifest(distilledDir);
    expect(m.recipe).toBe("rcm");
    expect(m.defaults).toMatchObject({ steps: 4, solver: "rcm", guidance: 1, width: TINY_DEFAULTS.width });
  });

  it("npm run generate samples it with its recipe by default", async () => {
    const out = path.join(work, "cli", "fast.mp4");
    const { stdout } = await cli("cli/generate.ts", ["--model", distilledDir, "--prompt", "a red kite", "--seed", "7", "--out", out]);
    expect(JSON.parse(stdout)).toMatchObject({ seed: 7, frames: TINY_DEFAULTS.frames });
    expect(await probeVideo(out)).toMatchObject({ codec: "h264", width: TINY_DEFAULTS.width, height: TINY_DEFAULTS.height, frames: TINY_DEFAULTS.frames });
    expect(await readGenerationSettings(out)).toMatchObject({ solver: "rcm", steps: 4, guidance: 1, seed: 7 });
  });

  it("refuses settings the distillation never saw, naming the flag", async () => {
    const attempt = (dir: string, args: string[]) => cli("cli/generate.ts", ["--model", dir, "--prompt", "x", "--out", path.join(work, "x.mp4"), ...args]);
    await expect(attempt(distilledDir, ["--steps", "8"])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--steps: rCM samples in 1 to 4 steps/) });
    await expect(attempt(distilledDir, ["--guidance", "5"])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--guidance: rCM is distilled without guidance/) });
    await expect(attempt(baseDir, ["--solver", "rcm", "--steps", "4", "--guidance", "1"])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--solver: the rcm sampler needs a model distilled with rCM; model tiny-base is not one/),
    });
  });

  it("runs one conditional DiT call per step at the recipe's timesteps, reproducibly from the seed", async () => {
    const pipeline = new WanPipeline(model);
    const calls: { timestep: number; batch: number }[] = [];
    const predict = model.dit.predict.bind(model.dit);
    model.dit.predict = (call) => {
      calls.push({ timestep: call.timestep, batch: call.latents.length });
      return predict(call);
    };
    const params = generationParamsSchema.parse({ prompt: "a kite", width: 96, height: 64, frames: 5, steps: 4, guidance: 1, shift: 5, solver: "rcm", seed: 3 });
    const totals: number[] = [];
    try {
      const a = await pipeline.generate(params, mp4FileSink(tempDir("rcm-a")), { onProgress: (p) => p.phase === "denoise" && totals.push(p.total) });
      expect(calls).toEqual([988, 932, 852, 608].map((timestep) => ({ timestep, batch: 1 })));
      expect(new Set(totals)).toEqual(new Set([4]));
      const b = await pipeline.generate(params, mp4FileSink(tempDir("rcm-b")));
      const c = await pipeline.generate({ ...params, seed: 4 }, mp4FileSink(tempDir("rcm-c")));
      const poster = (file: string) => readFile(file);
      expect((await poster(a.posterFile)).equals(await poster(b.posterFile))).toBe(true);
      expect((await poster(a.posterFile)).equals(await poster(c.posterFile))).toBe(false);
    } finally {
      model.dit.predict = predict;
    }
  });
});

describe("converting an rCM checkpoint", () => {
  it("recognises the recipe from the file name and reads the official keys under net.", async () => {
    // The tiny DiT as NVlabs ships rCM: official WanModel names prefixed with `net.`, file named rCM_….
    const src = await SafetensorsFile.open(path.join(distilledDir, TINY_SOURCE_DIR, "transformer", "diffusion_pytorch_model.safetensors"));
    const tensors: TensorToWrite[] = [];
    try {
      for (const [name, info] of src.tensors) {
        tensors.push({ name: RCM_PREFIX + ditKeyFromDiffusers(name), dtype: info.dtype, shape: info.shape, data: await src.read(name) });
      }
    } finally {
      await src.close();
    }
    const dir = path.join(work, "rcm-download");
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "rCM_Wan2.1_T2V_tiny_480p.safetensors");
    await writeSafetensors(file, tensors);
    // The real 1.3B file is configured from its tensor shapes (128-wide heads); the tiny one needs its config.
    const c = TINY_DIT;
    const config = { model_type: c.modelType, patch_size: c.patchSize, text_len: c.textLen, in_dim: c.inDim, dim: c.dim, ffn_dim: c.ffnDim };
    const more = { freq_dim: c.freqDim, text_dim: c.textDim, out_dim: c.outDim, num_heads: c.numHeads, num_layers: c.numLayers, eps: c.eps };
    await writeFile(path.join(dir, "config.json"), JSON.stringify({ ...config, ...more }));
    const out = path.join(work, "converted-rcm");
    const manifest = await convertModel({ source: file, outDir: out, precision: "fp32", textLen: TINY_DIT.textLen });
    expect(manifest.recipe).toBe("rcm");
    expect(manifest.defaults).toMatchObject({ solver: "rcm", steps: 4, guidance: 1 });

    // The converted DiT is the same network as the tiny model's: identical velocities for the same input.
    const runtime = await resolveRuntime({ executionProviders: ["cpu"], threads: 0 });
    const convertedDit = await DiTRunner.load(out, manifest, runtime);
    const shape = { channels: 16, frames: 2, height: 4, width: 6 };
    const call = {
      latents: [gaussianNoise(5, 16 * 2 * 4 * 6)],
      shape,
      timestep: 932,
      contexts: [{ data: gaussianNoise(6, 3 * TINY_DIT.textDim), rows: 3 }],
    };
    const [expected] = await model.dit.predict(call);
    const [actual] = await convertedDit.predict(call);
    expect(Array.from(actual)).toEqual(Array.from(expected));
  });
});
