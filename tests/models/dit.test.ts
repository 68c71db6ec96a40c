/**
 * DiT parity with the official Wan 2.1 goldens, from both checkpoint layouts, through the converter and the
 * runner that generation uses (the whole graph and the embedding / blocks / head stage graphs); and the named
 * errors a wrong checkpoint gets.
 */
import { copyFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiTRunner } from "../../lib/engine/dit.ts";
import { resolveRuntime, sessionOptions } from "../../lib/engine/runtime.ts";
import { discoverSources } from "../../models/convert/sources.ts";
import { convertTransformer, TRANSFORMER_FILE } from "../../models/convert/transformer.ts";
import { ditKeyFromDiffusers, ditKeyToDiffusers } from "../../models/wan/dit-checkpoint.ts";
import { SafetensorsFile, writeSafetensors } from "../../models/weights/safetensors.ts";
import { fixture, goldens, maxAbs, maxAbsDiff, tempDir } from "../helpers/fixtures.ts";
import { readFileSync } from "node:fs";

const work = tempDir("dit-test");
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function convert(source: string, name: string, opts: { precision?: "fp32" | "fp16"; textLen?: number; stages?: boolean } = {}) {
  const dir = path.join(work, name);
  rmSync(dir, { recursive: true, force: true });
  const { mkdirSync } = await import("node:fs");
  mkdirSync(dir, { recursive: true });
  const [src] = (await discoverSources(source)).filter((s) => s.kind === "transformer");
  const entry = await convertTransformer(src, dir, { precision: opts.precision ?? "fp32", textLen: opts.textLen });
  const runtime = await resolveRuntime({ executionProviders: ["cpu"], threads: 0 });
  const open = (file: string) => ort.InferenceSession.create(path.join(dir, file), sessionOptions(runtime));
  if (!opts.stages) return new DiTRunner(await open(TRANSFORMER_FILE), entry.config);
  const { embedding, blocks, head } = entry.stages;
  return new DiTRunner({ embedding: await open(embedding), blocks: await open(blocks), head: await open(head) }, entry.config);
}

async function t2vCase(runner: DiTRunner, c: number) {
  const G = await goldens();
  const [C, F, H, W] = G.info(`dit_case${c}_x`).shape;
  const ctxShape = G.info(`dit_case${c}_context`).shape;
  const [out] = await runner.predict({
    latents: [await G.readFloat32(`dit_case${c}_x`)],
    shape: { channels: C, frames: F, height: H, width: W },
    timestep: (await G.readFloat32(`dit_case${c}_t`))[0],
    contexts: [{ data: await G.readFloat32(`dit_case${c}_context`), rows: ctxShape[0] }],
  });
  const ref = await G.readFloat32(`dit_case${c}_out`);
  return { err: maxAbsDiff(out, ref), scale: maxAbs(ref) };
}

describe("Wan DiT (text-to-video)", () => {
  const runners: Record<string, DiTRunner> = {};
  beforeAll(async () => {
    runners.official = await convert(fixture("official", "wan2.1_t2v_tiny.safetensors"), "official");
    runners.diffusers = await convert(fixture("transformer"), "diffusers", { textLen: 16 });
    runners["official stage graphs"] = await convert(fixture("official", "wan2.1_t2v_tiny.safetensors"), "official-stages", { stages: true });
  });

  for (const layout of ["official", "diffusers", "official stage graphs"]) {
    it.each([1, 2, 3, 4])(`matches dit_case%i from the ${layout} layout (fp32, max abs err ≤ 1e-4)`, async (c) => {
      const { err } = await t2vCase(runners[layout], c);
      expect(err).toBeLessThanOrEqual(1e-4);
    });
  }

  it("reads the official config.json beside the single file (text_len 16) and infers the rest from shapes without it", async () => {
    expect(runners.official.config).toMatchObject({ modelType: "t2v", textLen: 16, dim: 64, numHeads: 4, numLayers: 2 });
    // Without config.json: heads are 128 wide by assumption, which the tiny model (dim 64) cannot satisfy — named error.
    const lone = path.join(work, "lone");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(lone, { recursive: true });
    copyFileSync(fixture("official", "wan2.1_t2v_tiny.safetensors"), path.join(lone, "dit.safetensors"));
    await expect(convert(path.join(lone, "dit.safetensors"), "lone-out")).rejects.toThrow(/patch_embedding has 64 channels, not a multiple of 128/);
  });

  it("fp16 graphs stay within 2e-3 of the golden (relative to an output scale of ~5)", async () => {
    const fp16 = await convert(fixture("official", "wan2.1_t2v_tiny.safetensors"), "fp16", { precision: "fp16" });
    for (const c of [1, 3]) {
      const { err, scale } = await t2vCase(fp16, c);
      expect(err / scale).toBeLessThan(2e-3);
    }
  });
});

describe("Wan DiT (image-to-video, 36 channels + CLIP)", () => {
  it.each([
    ["official", () => fixture("official_i2v", "wan2.1_i2v_tiny.safetensors")],
    ["diffusers", () => fixture("transformer_i2v")],
    ["official, stage graphs", () => fixture("official_i2v", "wan2.1_i2v_tiny.safetensors")],
  ])("matches dit_i2v from the %s layout", async (name, source) => {
    const runner = await convert(source(), `i2v-${name.replace(/\W+/g, "-")}`, { textLen: 512, stages: name.includes("stage") });
    expect(runner.config).toMatchObject({ modelType: "i2v", inDim: 36, imageDim: 1280 });
    const G = await goldens("goldens_i2v.safetensors");
    const [C, F, H, W] = G.info("dit_i2v_x").shape;
    const [out] = await runner.predict({
      latents: [await G.readFloat32("dit_i2v_x")],
      shape: { channels: C, frames: F, height: H, width: W },
      timestep: (await G.readFloat32("dit_i2v_t"))[0],
      contexts: [{ data: await G.readFloat32("dit_i2v_context"), rows: G.info("dit_i2v_context").shape[0] }],
      imageCondition: { y: await G.readFloat32("dit_i2v_y"), clip: await G.readFloat32("dit_i2v_clip_fea") },
    });
    expect(maxAbsDiff(out, await G.readFloat32("dit_i2v_out"))).toBeLessThanOrEqual(1e-4);
  });
});

describe("DiT checkpoint names", () => {
  it("maps every name between the Diffusers and official layouts, both ways (fixture key maps)", () => {
    const t2v = JSON.parse(readFileSync(fixture("official", "key_map.json"), "utf8")).transformer as Record<string, string>;
    const i2v = JSON.parse(readFileSync(fixture("official_i2v", "key_map_i2v.json"), "utf8")).transformer_i2v as Record<string, string>;
    for (const [official, diffusers] of [...Object.entries(t2v), ...Object.entries(i2v)]) {
      expect(ditKeyFromDiffusers(diffusers)).toBe(official);
      expect(ditKeyToDiffusers(official)).toBe(diffusers);
    }
  });
});

describe("a checkpoint that does not match the architecture", () => {
  async function corrupted(edit: (tensors: Map<string, { dtype: "float32"; shape: number[]; data: Float32Array }>) => void) {
    const src = await SafetensorsFile.open(fixture("official", "wan2.1_t2v_tiny.safetensors"));
    const tensors = new Map<string, { dtype: "float32"; shape: number[]; data: Float32Array }>();
    for (const [name, info] of src.tensors) tensors.set(name, { dtype: "float32", shape: info.shape, data: await src.readFloat32(name) });
    await src.close();
    edit(tensors);
    const dir = tempDir("dit-bad");
    writeFileSync(path.join(dir, "config.json"), readFileSync(fixture("official", "config.json")));
    const file = path.join(dir, "dit.safetensors");
    await writeSafetensors(file, [...tensors].map(([name, t]) => ({ name, ...t })));
    return file;
  }

  it("names a missing tensor", async () => {
    const file = await corrupted((t) => t.delete("blocks.1.cross_attn.k.weight"));
    await expect(convert(file, "bad1")).rejects.toThrow(/missing tensor blocks\.1\.cross_attn\.k\.weight/);
  });

  it("names a mis-shaped tensor with both shapes", async () => {
    const file = await corrupted((t) => {
      t.set("blocks.0.ffn.0.weight", { dtype: "float32", shape: [64, 64], data: new Float32Array(64 * 64) });
    });
    await expect(convert(file, "bad2")).rejects.toThrow(/blocks\.0\.ffn\.0\.weight .* has shape \[64,64\], expected \[128,64\]/);
  });

  it("names an unexpected tensor", async () => {
    const file = await corrupted((t) => t.set("blocks.0.extra_gate", { dtype: "float32", shape: [4], data: new Float32Array(4) }));
    await expect(convert(file, "bad3")).rejects.toThrow(/unexpected tensor blocks\.0\.extra_gate/);
  });

  it("rejects a file that is not a Wan component, naming the file", async () => {
    const dir = tempDir("dit-notwan");
    const file = path.join(dir, "random.safetensors");
    await writeSafetensors(file, [{ name: "layer.weight", dtype: "float32", shape: [2], data: new Float32Array(2) }]);
    await expect(discoverSources(file)).rejects.toThrow(/random\.safetensors: not a Wan 2\.1 DiT, VAE/);
  });

  it("rejects a truncated file, naming it", async () => {
    const dir = tempDir("dit-trunc");
    const file = path.join(dir, "cut.safetensors");
    writeFileSync(file, readFileSync(fixture("official", "wan2.1_t2v_tiny.safetensors")).subarray(0, 100_000));
    await expect(discoverSources(file)).rejects.toThrow(/cut\.safetensors: tensor .* does not fit .* \(truncated\?\)/);
  });
});
