/**
 * The converter end to end: every layout the fixtures provide becomes a model folder with a manifest, the
 * engine CLI reproduces the goldens from it (component by component and the whole text-to-video loop),
 * and the tiny-model generator writes a Diffusers pipeline that converts the same way.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Tensors } from "../../lib/engine/components.ts";
import { resolveRuntime, type ResolvedRuntime } from "../../lib/engine/runtime.ts";
import { generateTinyModel } from "../../lib/model-library/tiny.ts";
import { convertModel } from "../../models/convert/convert.ts";
import { readManifest } from "../../models/manifest.ts";
import { SafetensorsFile, writeSafetensors } from "../../models/weights/safetensors.ts";
import { goldenInputs, runComponent as runWith } from "../helpers/components.ts";
import { fixture, goldens, maxAbsDiff, tempDir } from "../helpers/fixtures.ts";

const run = promisify(execFile);
const work = tempDir("convert-test");
afterAll(() => rmSync(work, { recursive: true, force: true }));
let runtime: ResolvedRuntime;
beforeAll(async () => {
  runtime = await resolveRuntime({ executionProviders: ["cpu"], threads: 0 });
});

const from = goldenInputs;
const runComponent = (name: string, model: string | undefined, inputs: Tensors, opts: Record<string, unknown> = {}) =>
  runWith(runtime, name, model, inputs, opts);

describe("models convert", () => {
  const diffusers = path.join(work, "from-diffusers");
  const official = path.join(work, "from-official");
  beforeAll(async () => {
    await convertModel({ source: fixture(), outDir: diffusers, precision: "fp32", textLen: 16 });
    await convertModel({ source: fixture("official"), outDir: official, precision: "fp32" });
  });

  it("converts a Diffusers pipeline root: every component present, with a manifest", async () => {
    const m = await readManifest(diffusers);
    expect(m).toMatchObject({ architecture: "wan2.1", variant: "t2v", textLen: 16, tiny: false });
    // image_encoder/ (the CLIP vision tower, HF layout) sits beside the T2V components in the fixture root.
    expect(Object.keys(m.components).sort()).toEqual(["imageEncoder", "textEncoder", "transformer", "vae"]);
    expect(m.components.vae).toMatchObject({ zDim: 16, scaleSpatial: 8, scaleTemporal: 4 });
    expect(m.components.vae!.latentsMean[0]).toBeCloseTo(-0.7571, 6);
    expect(m.components.imageEncoder).toMatchObject({ file: "image_encoder.onnx", precision: "fp32", config: { imageSize: 56, dim: 32, numLayers: 3 } });
    for (const f of ["transformer.onnx", "transformer.onnx.data", "vae.onnx.data", "text_encoder.onnx", "image_encoder.onnx", ...Object.values(m.components.vae!.files)]) {
      expect(existsSync(path.join(diffusers, f)), f).toBe(true);
    }
  });

  it("converts a folder of official / ComfyUI single files, recognising each by its tensor names", async () => {
    const m = await readManifest(official);
    expect(Object.keys(m.components).sort()).toEqual(["textEncoder", "transformer", "vae"]);
    expect(m.textLen).toBe(16); // from the official config.json beside the DiT
  });

  for (const [layout, dir] of [["Diffusers", () => diffusers], ["official", () => official]] as const) {
    it(`reproduces the DiT, VAE and text-encoder goldens through the engine runners (${layout} layout)`, async () => {
      const dit = await runComponent("dit", dir(), await from("goldens.safetensors", { x: "dit_case2_x", t: "dit_case2_t", context: "dit_case2_context" }));
      expect(maxAbsDiff(dit.get("out")!.data as Float32Array, await (await goldens()).readFloat32("dit_case2_out"))).toBeLessThanOrEqual(1e-4);

      const enc = await runComponent("vae-encode", dir(), await from("goldens.safetensors", { video: "vae_encB_video" }));
      expect(enc.get("latent")!.shape).toEqual([16, 2, 2, 5]);
      expect(maxAbsDiff(enc.get("latent")!.data as Float32Array, await (await goldens()).readFloat32("vae_encB_mean_normalized"))).toBeLessThanOrEqual(1e-4);

      const dec = await runComponent("vae-decode", dir(), await from("goldens.safetensors", { latent: "vae_decA_latent_normalized" }));
      expect(dec.get("video")!.shape).toEqual([3, 9, 32, 32]);
      expect(maxAbsDiff(dec.get("video")!.data as Float32Array, await (await goldens()).readFloat32("vae_decA_video"))).toBeLessThanOrEqual(1e-4);

      for (const c of [1, 2]) {
        const t5 = await runComponent("text-encoder", dir(), await from("goldens.safetensors", { ids: `t5_case${c}_ids`, mask: `t5_case${c}_mask` }));
        expect(maxAbsDiff(t5.get("hidden")!.data as Float32Array, await (await goldens()).readFloat32(`t5_case${c}_hidden_trimmed`))).toBeLessThanOrEqual(1e-4);
      }
    });
  }

  it("reproduces the CLIP goldens through the engine runner (image → pixels → clip_fea, ≤ 1e-4)", async () => {
    const out = await runComponent("clip", diffusers, await from("goldens_clip.safetensors", { image: "clip_image" }));
    const G = await goldens("goldens_clip.safetensors");
    expect(out.get("pixels")!.shape).toEqual([3, 56, 56]);
    expect(maxAbsDiff(out.get("pixels")!.data as Float32Array, await G.readFloat32("clip_pixels"))).toBeLessThanOrEqual(1e-4);
    expect(out.get("clip_fea")!.shape).toEqual([17, 32]);
    expect(maxAbsDiff(out.get("clip_fea")!.data as Float32Array, await G.readFloat32("clip_fea"))).toBeLessThanOrEqual(1e-4);
    await expect(runComponent("clip", official, await from("goldens_clip.safetensors", { image: "clip_image" }))).rejects.toThrow(/has no image encoder/);
  });

  it("reproduces the whole text-to-video loop (e2e goldens: latents ≤ 1e-4, video ≤ 1e-3)", async () => {
    const out = await runComponent(
      "t2v",
      diffusers,
      await from("goldens.safetensors", { context: "e2e_context", context_null: "e2e_context_null", noise: "e2e_noise" }),
      { steps: 10, shift: 5, guidance: 5, solver: "unipc" },
    );
    const G = await goldens();
    expect(out.get("latents")!.shape).toEqual([11, 16, 3, 8, 8]);
    expect(maxAbsDiff(out.get("latents")!.data as Float32Array, await G.readFloat32("e2e_latents"))).toBeLessThanOrEqual(1e-4);
    expect(out.get("video")!.shape).toEqual([3, 9, 64, 64]);
    expect(maxAbsDiff(out.get("video")!.data as Float32Array, await G.readFloat32("e2e_video"))).toBeLessThanOrEqual(1e-3);
  });

  for (const [solver, shift] of [["unipc", 5], ["unipc", 8], ["dpmpp", 5], ["dpmpp", 8]] as const) {
    it(`replays sched_${solver}_shift${shift} through the sampler runner`, async () => {
      const name = `sched_${solver}_shift${shift}`;
      const out = await runComponent("sampler", undefined, await from("goldens.safetensors", { noise: "sched_noise", model_out: `${name}_model_out` }), {
        steps: 10,
        shift,
        solver,
      });
      const G = await goldens();
      expect(maxAbsDiff(out.get("latents")!.data as Float32Array, await G.readFloat32(`${name}_latents`))).toBeLessThanOrEqual(1e-4);
      expect([...(out.get("timesteps")!.data as Float32Array)]).toEqual([...(await G.readFloat32(`${name}_timesteps`))]);
      expect(maxAbsDiff(out.get("sigmas")!.data as Float32Array, await G.readFloat32(`${name}_sigmas`))).toBe(0);
    });
  }

  it("runs as `npm run engine -- run …` with --repeat timing JSON as the last line", async () => {
    const inFile = path.join(work, "t5-in.safetensors");
    const t = await from("goldens.safetensors", { ids: "t5_case1_ids", mask: "t5_case1_mask" });
    await writeSafetensors(inFile, [...t].map(([name, v]) => ({ name, dtype: "int64" as const, shape: v.shape, data: v.data })));
    const outFile = path.join(work, "t5-out.safetensors");
    const { stdout } = await run(process.execPath, ["--import", "tsx", "cli/engine.ts", "run", "text-encoder", "--model", diffusers, "--in", inFile, "--out", outFile, "--repeat", "2"]);
    const last = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(last).toMatchObject({ component: "text-encoder", runs: 2 });
    expect(last.median_s).toBeGreaterThan(0);
    expect(last.min_s).toBeLessThanOrEqual(last.median_s);
    const out = await SafetensorsFile.open(outFile);
    expect(maxAbsDiff(await out.readFloat32("hidden"), await (await goldens()).readFloat32("t5_case1_hidden_trimmed"))).toBeLessThanOrEqual(1e-4);
    await out.close();
  });

  it("names a missing input tensor in the engine CLI's error", async () => {
    const inFile = path.join(work, "bad-in.safetensors");
    await writeSafetensors(inFile, [{ name: "x", dtype: "float32", shape: [1], data: new Float32Array(1) }]);
    const attempt = run(process.execPath, ["--import", "tsx", "cli/engine.ts", "run", "dit", "--model", diffusers, "--in", inFile, "--out", path.join(work, "o.safetensors")]);
    await expect(attempt).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/input tensor "x" has shape \[1\], expected 4 dimensions/) });
  });
});

describe("models tiny", () => {
  it("writes a Diffusers-layout pipeline and converts it; one command, deterministic per seed", async () => {
    const out = path.join(work, "tiny-cli");
    const { stdout } = await run(process.execPath, ["--import", "tsx", "cli/models.ts", "tiny", "--out", out, "--seed", "3"]);
    expect(stdout).toMatch(/time \d+\.\d s, peak memory [\d.]+ MB/);
    const m = await readManifest(out);
    expect(m).toMatchObject({ tiny: true, variant: "t2v", textLen: 64 });
    expect(m.components.textEncoder!.tokenizer).toBe("tokenizer");
    expect(m.preview).not.toBeNull();
    for (const f of ["model_index.json", "transformer/config.json", "vae/config.json", "text_encoder/config.json", "tokenizer/tokenizer.json"]) {
      expect(existsSync(path.join(out, "source-diffusers", f)), f).toBe(true);
    }
    const again = path.join(work, "tiny-again");
    await generateTinyModel({ outDir: again, seed: 3 });
    const other = path.join(work, "tiny-other");
    await generateTinyModel({ outDir: other, seed: 4 });
    const bytes = (dir: string) => readFileSync(path.join(dir, "transformer.onnx.data"));
    expect(bytes(again).equals(bytes(out))).toBe(true);
    expect(bytes(other).equals(bytes(out))).toBe(false);
  });
});

describe("int8 (weight-only 8-bit) conversion", () => {
  it("quantizes the block matmuls to MatMulNBits at a quarter of the size, within a documented tolerance", async () => {
    const int8 = path.join(work, "int8");
    await convertModel({ source: fixture(), outDir: int8, precision: "int8", textLen: 16 });
    const fp32 = path.join(work, "int8-reference");
    await convertModel({ source: fixture(), outDir: fp32, precision: "fp32", textLen: 16 });
    const size = (dir: string, f: string) => readFileSync(path.join(dir, f)).byteLength;
    expect(size(int8, "text_encoder.onnx.data")).toBeLessThan(0.4 * size(fp32, "text_encoder.onnx.data"));
    expect((await readManifest(int8)).components.transformer!.precision).toBe("int8");
    const G = await goldens();
    const rel = (a: Float32Array, b: Float32Array) => maxAbsDiff(a, b) / b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const dit = await runComponent("dit", int8, await from("goldens.safetensors", { x: "dit_case1_x", t: "dit_case1_t", context: "dit_case1_context" }));
    // Measured on this fixture: 7.6e-3 (DiT) and 5.1e-2 (umT5: random tiny weights, one 32-wide block per row,
    // through two gated-GELU layers). Block-wise absmax int8 rounds each weight by ≤ max|w|/254.
    expect(rel(dit.get("out")!.data as Float32Array, await G.readFloat32("dit_case1_out"))).toBeLessThan(2e-2);
    const t5 = await runComponent("text-encoder", int8, await from("goldens.safetensors", { ids: "t5_case1_ids", mask: "t5_case1_mask" }));
    expect(rel(t5.get("hidden")!.data as Float32Array, await G.readFloat32("t5_case1_hidden_trimmed"))).toBeLessThan(1e-1);
  });
});
