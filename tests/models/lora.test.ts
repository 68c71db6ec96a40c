/**
 * LoRA merging at conversion. LoRAs written here in each key style in use for Wan 2.1 (PEFT/Diffusers, PEFT with
 * official names under ComfyUI's `diffusion_model.`, kohya/musubi with `.alpha`, full `.diff`/`.diff_b`) are merged
 * into the tiny DiT; the reference is computed independently — W + s·(α/r)·B·A in float64, written into a copy of
 * the base checkpoint that converts as an ordinary model — and the two DiT outputs must agree on the goldens' inputs.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiTRunner } from "../../lib/engine/dit.ts";
import { resolveRuntime, type ResolvedRuntime } from "../../lib/engine/runtime.ts";
import { convertModel, type ConvertOptions } from "../../models/convert/convert.ts";
import { readManifest } from "../../models/manifest.ts";
import type { Precision } from "../../models/nn.ts";
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from "../../models/weights/safetensors.ts";
import { fixture, goldens, maxAbsDiff, tempDir } from "../helpers/fixtures.ts";

const run = promisify(execFile);
const work = tempDir("lora-test");
afterAll(() => rmSync(work, { recursive: true, force: true }));
let runtime: ResolvedRuntime;
beforeAll(async () => {
  runtime = await resolveRuntime({ executionProviders: ["cpu"], threads: 0 });
});

const T2V = { official: fixture("official", "wan2.1_t2v_tiny.safetensors"), diffusers: fixture("transformer") };
const I2V = { official: fixture("official_i2v", "wan2.1_i2v_tiny.safetensors"), diffusers: fixture("transformer_i2v") };

/** A DiT module by its official name and its Diffusers name (written out here, not taken from the converter). */
type Target = { official: string; diffusers: string };
type Style = "peft-diffusers" | "peft-official" | "kohya" | "diff";
/** One update: low rank (down = A [rank, in…], up = B [out, rank, 1…]) or a full difference of a weight or bias. */
type Update =
  | { target: Target; rank: number; alpha?: number; down: Tensor; up: Tensor }
  | { target: Target; diffOf: "weight" | "bias"; diff: Tensor };
type Tensor = { shape: number[]; data: Float32Array };
type Lora = { style: Style; updates: Update[] };

let seed = 1;
/** Deterministic normal samples (xorshift + Box–Muller), so a failure reproduces. */
function normal(n: number, std: number): Float32Array {
  const uniform = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return ((seed >>> 0) + 1) / 4294967297;
  };
  return Float32Array.from({ length: n }, () => std * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const tensor = (shape: number[], std = 0.1): Tensor => ({ shape, data: normal(size(shape), std) });

function lowRank(target: Target, out: number, inShape: number[], rank: number, alpha?: number): Update {
  const ones = inShape.slice(1).map(() => 1); // a convolution's up matrix is [out, rank, 1, 1, 1]
  return { target, rank, alpha, down: tensor([rank, ...inShape]), up: tensor([out, rank, ...ones]) };
}

/** The tensors of a LoRA file in one key style. */
function loraTensors({ style, updates }: Lora): TensorToWrite[] {
  const out: TensorToWrite[] = [];
  const add = (name: string, t: Tensor) => out.push({ name, dtype: "float32", shape: t.shape, data: t.data });
  for (const u of updates) {
    const prefix = {
      "peft-diffusers": `transformer.${u.target.diffusers}`,
      "peft-official": `diffusion_model.${u.target.official}`,
      kohya: `lora_unet_${u.target.official.replaceAll(".", "_")}`,
      diff: `diffusion_model.${u.target.official}`,
    }[style];
    if ("diff" in u) {
      add(`${prefix}.${u.diffOf === "weight" ? "diff" : "diff_b"}`, u.diff);
      continue;
    }
    const [down, up] = style === "kohya" ? ["lora_down", "lora_up"] : ["lora_A", "lora_B"];
    add(`${prefix}.${down}.weight`, u.down);
    add(`${prefix}.${up}.weight`, u.up);
    if (u.alpha !== undefined) add(`${prefix}.alpha`, { shape: [], data: Float32Array.of(u.alpha) });
  }
  return out;
}

let files = 0;
async function writeLora(lora: Lora): Promise<string> {
  const file = path.join(work, `lora-${++files}-${lora.style}.safetensors`);
  await writeSafetensors(file, loraTensors(lora));
  return file;
}

/** The base checkpoint with W += s·(α/r)·B·A (or s·diff) applied in float64, beside its config.json. */
async function referenceCheckpoint(base: string, merges: { lora: Lora; strength: number }[]): Promise<string> {
  const src = await SafetensorsFile.open(base);
  const weights = new Map<string, { shape: number[]; data: Float64Array }>();
  for (const [name, info] of src.tensors) weights.set(name, { shape: info.shape, data: Float64Array.from(await src.readFloat32(name)) });
  await src.close();
  for (const { lora, strength } of merges) {
    for (const u of lora.updates) {
      if ("diff" in u) {
        const w = weights.get(`${u.target.official}.${u.diffOf}`)!.data;
        for (let i = 0; i < w.length; i++) w[i] += strength * u.diff.data[i];
        continue;
      }
      const w = weights.get(`${u.target.official}.weight`)!;
      const [rows, rank] = [w.shape[0], u.rank];
      const cols = w.data.length / rows;
      const scale = (strength * (u.alpha ?? rank)) / rank;
      for (let o = 0; o < rows; o++) {
        for (let i = 0; i < cols; i++) {
          let sum = 0;
          for (let r = 0; r < rank; r++) sum += u.up.data[o * rank + r] * u.down.data[r * cols + i];
          w.data[o * cols + i] += scale * sum;
        }
      }
    }
  }
  const dir = path.join(work, `reference-${++files}`);
  mkdirSync(dir);
  copyFileSync(path.join(path.dirname(base), "config.json"), path.join(dir, "config.json"));
  const file = path.join(dir, "dit.safetensors");
  await writeSafetensors(file, [...weights].map(([name, w]) => ({ name, dtype: "float32", shape: w.shape, data: Float32Array.from(w.data) })));
  return file;
}

async function convert(source: string, o: Partial<ConvertOptions> = {}): Promise<string> {
  const outDir = path.join(work, `model-${++files}`);
  await convertModel({ source, outDir, precision: "fp32", ...o });
  return outDir;
}

/** The converted DiT's output on dit_case1 (text to video) or dit_i2v (image to video). */
async function ditOutput(dir: string): Promise<Float32Array> {
  const runner = await DiTRunner.load(dir, await readManifest(dir), runtime);
  try {
    const i2v = runner.config.modelType === "i2v";
    const G = await goldens(i2v ? "goldens_i2v.safetensors" : "goldens.safetensors");
    const name = i2v ? "dit_i2v" : "dit_case1";
    const [C, F, H, W] = G.info(`${name}_x`).shape;
    const [out] = await runner.predict({
      latents: [await G.readFloat32(`${name}_x`)],
      shape: { channels: C, frames: F, height: H, width: W },
      timestep: (await G.readFloat32(`${name}_t`))[0],
      contexts: [{ data: await G.readFloat32(`${name}_context`), rows: G.info(`${name}_context`).shape[0] }],
      imageCondition: i2v ? { y: await G.readFloat32("dit_i2v_y"), clip: await G.readFloat32("dit_i2v_clip_fea") } : undefined,
    });
    return out;
  } finally {
    await runner.release();
  }
}

/** The un-merged model's output: the golden itself (the base conversion reproduces it within 1e-4, dit.test.ts). */
async function baseOutput(i2v: boolean): Promise<Float32Array> {
  return i2v ? (await goldens("goldens_i2v.safetensors")).readFloat32("dit_i2v_out") : (await goldens()).readFloat32("dit_case1_out");
}

const Q0: Target = { official: "blocks.0.self_attn.q", diffusers: "blocks.0.attn1.to_q" };
const FFN1: Target = { official: "blocks.1.ffn.0", diffusers: "blocks.1.ffn.net.0.proj" };
const CROSS_O0: Target = { official: "blocks.0.cross_attn.o", diffusers: "blocks.0.attn2.to_out.0" };
const TIME_PROJ: Target = { official: "time_projection.1", diffusers: "condition_embedder.time_proj" };
const PATCH: Target = { official: "patch_embedding", diffusers: "patch_embedding" };
const NORM3_1: Target = { official: "blocks.1.norm3", diffusers: "blocks.1.norm2" };
const K_IMG0: Target = { official: "blocks.0.cross_attn.k_img", diffusers: "blocks.0.attn2.add_k_proj" };
const V_IMG1: Target = { official: "blocks.1.cross_attn.v_img", diffusers: "blocks.1.attn2.add_v_proj" };

/** Converts the base with the LoRAs merged and the float64 reference, and compares their DiT outputs. */
async function expectMergeMatchesReference(
  base: { official: string; diffusers: string },
  layout: "official" | "diffusers",
  merges: { lora: Lora; strength: number }[],
  { precision = "fp32", tolerance = 1e-5 }: { precision?: Precision; tolerance?: number } = {},
) {
  const i2v = base === I2V;
  const textLen = i2v ? 512 : 16;
  const loras = await Promise.all(merges.map(async (m) => ({ file: await writeLora(m.lora), strength: m.strength })));
  const merged = await convert(base[layout], { textLen, loras, precision });
  const reference = await convert(await referenceCheckpoint(base.official, merges), { textLen, precision });
  const out = await ditOutput(merged);
  expect(maxAbsDiff(out, await ditOutput(reference))).toBeLessThanOrEqual(tolerance);
  expect(maxAbsDiff(out, await baseOutput(i2v))).toBeGreaterThan(1e-2);

  const recorded = (await readManifest(merged)).components.transformer!.loras;
  expect(recorded).toEqual(
    loras.map((l) => ({ file: path.basename(l.file), strength: l.strength, sha256: createHash("sha256").update(readFileSync(l.file)).digest("hex") })),
  );
}

describe("merging LoRAs at conversion (tiny DiT, dit_case1 inputs, ≤ 1e-5 of a float64 reference)", () => {
  it("PEFT keys with Diffusers module names (transformer.…, no alpha) into the Diffusers folder", async () => {
    const lora: Lora = {
      style: "peft-diffusers",
      updates: [lowRank(Q0, 64, [64], 4), lowRank(FFN1, 128, [64], 2), lowRank(TIME_PROJ, 384, [64], 4)],
    };
    await expectMergeMatchesReference(T2V, "diffusers", [{ lora, strength: 1 }]);
  });

  it("PEFT keys with official module names under ComfyUI's diffusion_model. into the official file", async () => {
    const lora: Lora = { style: "peft-official", updates: [lowRank(CROSS_O0, 64, [64], 8, 4), lowRank(FFN1, 128, [64], 4, 16)] };
    await expectMergeMatchesReference(T2V, "official", [{ lora, strength: 0.8 }]);
  });

  it("kohya/musubi keys (lora_unet_…, lora_down/lora_up, alpha), a convolution included, into the Diffusers folder", async () => {
    const lora: Lora = { style: "kohya", updates: [lowRank(Q0, 64, [64], 4, 8), lowRank(PATCH, 64, [16, 1, 2, 2], 4, 1)] };
    await expectMergeMatchesReference(T2V, "diffusers", [{ lora, strength: 1.5 }]);
  });

  it("full-weight differences (.diff for a weight, .diff_b for a bias)", async () => {
    const lora: Lora = {
      style: "diff",
      updates: [
        { target: CROSS_O0, diffOf: "weight", diff: tensor([64, 64], 0.05) },
        { target: NORM3_1, diffOf: "bias", diff: tensor([64], 0.5) },
      ],
    };
    await expectMergeMatchesReference(T2V, "official", [{ lora, strength: 0.7 }]);
  });

  it("two LoRAs stacked on the same weight (strengths 0.7 and −1.3) add up", async () => {
    const first: Lora = { style: "kohya", updates: [lowRank(Q0, 64, [64], 4, 2), lowRank(FFN1, 128, [64], 4, 8)] };
    const second: Lora = { style: "peft-diffusers", updates: [lowRank(Q0, 64, [64], 2)] };
    await expectMergeMatchesReference(T2V, "official", [
      { lora: first, strength: 0.7 },
      { lora: second, strength: -1.3 },
    ]);
  });

  it("the image-to-video k_img / v_img projections (add_k_proj in Diffusers, cross_attn.v_img in kohya)", async () => {
    const diffusers: Lora = { style: "peft-diffusers", updates: [lowRank(K_IMG0, 64, [64], 4)] };
    const kohya: Lora = { style: "kohya", updates: [lowRank(V_IMG1, 64, [64], 4, 2)] };
    await expectMergeMatchesReference(I2V, "diffusers", [
      { lora: diffusers, strength: 1 },
      { lora: kohya, strength: 1 },
    ]);
  });

  it("merges before the cast to the graph's precision: fp16 and int8 (block-quantized from the merged float32 values)", async () => {
    const lora: Lora = { style: "peft-official", updates: [lowRank(Q0, 64, [64], 4, 8), lowRank(FFN1, 128, [64], 4, 8)] };
    // Both sides round the same float32 weights (up to one float32 ulp apart) to fp16 or int8 blocks.
    await expectMergeMatchesReference(T2V, "official", [{ lora, strength: 1 }], { precision: "fp16", tolerance: 1e-3 });
    await expectMergeMatchesReference(T2V, "official", [{ lora, strength: 1 }], { precision: "int8", tolerance: 1e-3 });
  });

  it("strength 0 reproduces the base conversion bit for bit", async () => {
    const lora: Lora = { style: "kohya", updates: [lowRank(Q0, 64, [64], 4, 8)] };
    const merged = await convert(T2V.official, { loras: [{ file: await writeLora(lora), strength: 0 }] });
    const base = await convert(T2V.official);
    const bytes = (dir: string) => readFileSync(path.join(dir, "transformer.onnx.data"));
    expect(bytes(merged).equals(bytes(base))).toBe(true);
    expect((await readManifest(merged)).components.transformer!.loras).toMatchObject([{ strength: 0 }]);
  });
});

describe("a LoRA that does not fit the base model is an error naming the key and the file", () => {
  async function attempt(tensors: TensorToWrite[], base = T2V.official) {
    const file = path.join(work, `bad-${++files}.safetensors`);
    await writeSafetensors(file, tensors);
    return { file, converting: convert(base, { loras: [{ file, strength: 1 }] }) };
  }
  const f32 = (name: string, shape: number[]): TensorToWrite => ({ name, dtype: "float32", shape, data: new Float32Array(size(shape)) });

  it("an unknown key", async () => {
    const { file, converting } = await attempt([f32("lora_unet_blocks_0_self_attn_q.hada_w1_a", [4, 64])]);
    await expect(converting).rejects.toThrow(`${file}: unknown LoRA key lora_unet_blocks_0_self_attn_q.hada_w1_a`);
  });

  it("a target the base model does not have (a layer too many; an image projection in a text-to-video DiT)", async () => {
    const missing = await attempt([f32("transformer.blocks.2.attn1.to_q.lora_A.weight", [4, 64]), f32("transformer.blocks.2.attn1.to_q.lora_B.weight", [64, 4])]);
    await expect(missing.converting).rejects.toThrow(/transformer\.blocks\.2\.attn1\.to_q\.lora_A\.weight targets transformer\.blocks\.2\.attn1\.to_q, which the base DiT does not have/);
    const i2vOnly = await attempt([f32("lora_unet_blocks_0_cross_attn_k_img.lora_down.weight", [4, 64]), f32("lora_unet_blocks_0_cross_attn_k_img.lora_up.weight", [64, 4])]);
    await expect(i2vOnly.converting).rejects.toThrow(`${i2vOnly.file}: lora_unet_blocks_0_cross_attn_k_img.lora_down.weight targets`);
  });

  it("shapes that do not match the target", async () => {
    const lowRankBad = await attempt([f32("diffusion_model.blocks.0.ffn.0.lora_A.weight", [4, 128]), f32("diffusion_model.blocks.0.ffn.0.lora_B.weight", [128, 4])]);
    await expect(lowRankBad.converting).rejects.toThrow(
      `${lowRankBad.file}: diffusion_model.blocks.0.ffn.0.lora_A.weight [4,128] and diffusion_model.blocks.0.ffn.0.lora_B.weight [128,4] do not fit blocks.0.ffn.0.weight [128,64]`,
    );
    const diffBad = await attempt([f32("diffusion_model.blocks.0.self_attn.o.diff_b", [32])]);
    await expect(diffBad.converting).rejects.toThrow(`${diffBad.file}: diffusion_model.blocks.0.self_attn.o.diff_b has shape [32], but blocks.0.self_attn.o.bias is [64]`);
    const unpaired = await attempt([f32("lora_unet_blocks_0_self_attn_q.lora_down.weight", [4, 64])]);
    await expect(unpaired.converting).rejects.toThrow(/lora_unet_blocks_0_self_attn_q\.lora_down\.weight has no matching up \(B\) matrix/);
  });
});

describe("npm run models -- convert --lora file.safetensors[:strength]", () => {
  const cli = (...args: string[]) => run(process.execPath, ["--import", "tsx", "cli/models.ts", ...args], { env: { ...process.env, MODELS_DIR: work } });

  it("merges the LoRA, records it and the models list shows it", async () => {
    const lora = await writeLora({ style: "kohya", updates: [lowRank(Q0, 64, [64], 4, 8)] });
    const out = path.join(work, "cli-model");
    const { stdout } = await cli("convert", T2V.official, "--out", out, "--lora", `${lora}:0.5`, "--lora", lora);
    expect(stdout).toContain(`merged LoRA ${path.basename(lora)} × 0.5`);
    expect((await readManifest(out)).components.transformer!.loras!.map((l) => l.strength)).toEqual([0.5, 1]);
    const list = await cli("list");
    expect(list.stdout).toContain(`LoRA ${path.basename(lora)}:0.5, ${path.basename(lora)}:1`);
  });

  it.each([
    ["style.safetensors:strong", /--lora style\.safetensors:strong: the strength "strong" is not a number/],
    ["style.safetensors:", /--lora style\.safetensors:: the strength "" is not a number/],
    ["style.ckpt:0.5", /--lora expects <file\.safetensors>\[:strength\] \(got "style\.ckpt:0\.5"\)/],
  ])("rejects --lora %s with a usage error", async (arg, message) => {
    await expect(cli("convert", T2V.official, "--out", path.join(work, "never"), "--lora", arg)).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(message) });
  });
});
