/**
 * The CLIP image encoder of image-to-video (official wan/modules/clip.py, CLIPModel.visual): the official preprocessing in TypeScript
 * (PyTorch bicubic, CLIP mean/std) and the vision tower graph against the official Wan 2.1 goldens, from both
 * checkpoint layouts, through the converter; the name and tensor mapping between the layouts (fused q/k/v);
 * configs; the named errors a wrong checkpoint gets; and the tiny image-to-video model, whose DiT and CLIP run
 * end to end.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clipPixels, encodeImage, encodePixels } from "../../lib/engine/clip.ts";
import { prepareComponent } from "../../lib/engine/components.ts";
import { DiTRunner } from "../../lib/engine/dit.ts";
import { gaussianNoise } from "../../lib/engine/noise.ts";
import { resolveRuntime, sessionOptions, type ResolvedRuntime } from "../../lib/engine/runtime.ts";
import { resizeBicubic } from "../../lib/images/bicubic.ts";
import { TINY_CLIP } from "../../lib/model-library/tiny.ts";
import { buildClipVision, CLIP_VIT_H_14, clipTokens } from "../../models/clip.ts";
import {
  clipConfig,
  clipConfigFromHF,
  clipConfigFromOfficial,
  clipConfigFromShapes,
  clipKeyFromHF,
  clipKeyToHF,
  clipTensorsToHF,
  openClipWeights,
} from "../../models/clip-checkpoint.ts";
import { convertImageEncoder, IMAGE_ENCODER_FILE } from "../../models/convert/image-encoder.ts";
import { discoverSources, type ComponentSource } from "../../models/convert/sources.ts";
import { GraphBuilder } from "../../models/graph/builder.ts";
import { saveGraph } from "../../models/graph/save.ts";
import { readManifest } from "../../models/manifest.ts";
import { Params, type Precision } from "../../models/nn.ts";
import { CLIP_TOKENS } from "../../models/wan/dit.ts";
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from "../../models/weights/safetensors.ts";
import { fixture, goldens, maxAbs, maxAbsDiff, tempDir } from "../helpers/fixtures.ts";

const HF_DIR = fixture("image_encoder");
const OFFICIAL_FILE = fixture("official_i2v", "clip_vision_tiny.safetensors");
const officialConfig = () => JSON.parse(readFileSync(fixture("official_i2v", "official_configs_image_encoder.json"), "utf8"));
const keyMap = () =>
  JSON.parse(readFileSync(fixture("official_i2v", "key_map_image_encoder.json"), "utf8")).image_encoder as Record<string, string | string[]>;

const work = tempDir("clip-test");
afterAll(() => rmSync(work, { recursive: true, force: true }));
let runtime: ResolvedRuntime;
beforeAll(async () => {
  runtime = await resolveRuntime({ executionProviders: ["cpu"], threads: 0 });
});

const G = () => goldens("goldens_clip.safetensors");
const golden = async (name: string) => (await G()).readFloat32(name);

/** The component source of a layout, as the converter sees it; the official file gets its config from the fixture. */
async function source(layout: "official" | "diffusers", file?: string): Promise<ComponentSource> {
  const [src] = await discoverSources(file ?? (layout === "diffusers" ? HF_DIR : OFFICIAL_FILE));
  expect(src).toMatchObject({ kind: "imageEncoder", layout });
  return layout === "official" ? { ...src, config: officialConfig() } : src;
}

/** Converts a source into its own folder and opens the graph as the engine does. */
async function convert(name: string, src: ComponentSource, precision: Precision = "fp32") {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const entry = await convertImageEncoder(src, dir, { precision });
  const session = await ort.InferenceSession.create(path.join(dir, entry.file), sessionOptions(runtime));
  return { entry, session };
}

/** The debugging graph with every intermediate as an output. */
async function debugSession(name: string, src: ComponentSource): Promise<ort.InferenceSession> {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const weights = await openClipWeights(src.files, src.layout);
  try {
    const g = new GraphBuilder("clip_debug");
    buildClipVision(g, new Params(g, weights, "", "fp32"), clipConfig(weights, src.config), { intermediates: true });
    weights.assertAllUsed();
    await saveGraph(g, { dir, file: "debug.onnx" });
  } finally {
    await weights.close();
  }
  return ort.InferenceSession.create(path.join(dir, "debug.onnx"), sessionOptions(runtime));
}

describe("CLIP preprocessing (official wan/modules/clip.py, CLIPModel.visual: bicubic to S×S, [0, 1], CLIP mean/std)", () => {
  it("turns clip_image [3, 40, 72] into clip_pixels [3, 56, 56] (max abs err ≤ 1e-4)", async () => {
    const pixels = clipPixels(await golden("clip_image"), 40, 72, 56);
    const err = maxAbsDiff(pixels, await golden("clip_pixels"));
    console.log(`clip_pixels max abs err ${err.toExponential(2)}`);
    // Measured 5.9e-6 (float32 rounding of PyTorch's sums); a = −0.5, align_corners=True or a crop would be ≥ 1e-2 off.
    expect(err).toBeLessThanOrEqual(1e-4);
  });

  it("resamples as PyTorch does: identity at the same size, edge taps clamped, Keys' a = −0.75", () => {
    const img = Float32Array.from({ length: 2 * 5 * 7 }, (_, i) => Math.sin(i * 1.3));
    expect([...resizeBicubic(img, 2, 5, 7, 5, 7)]).toEqual([...img]);
    // A constant image stays constant (the kernel sums to one; clamped taps read the edge).
    expect(Math.max(...resizeBicubic(new Float32Array(3 * 4 * 4).fill(0.25), 3, 4, 4, 9, 2).map((v) => Math.abs(v - 0.25)))).toBeLessThan(1e-7);
    // Doubling a 1-D step [0, 1]: out[1] sits at x = 0.25, taps −1, 0, 1, 2 (clamped to 0, 0, 1, 1) with weights
    // k(1.25), k(0.25), k(0.75), k(1.75); the value is k(0.75) + k(1.75) = 0.26171875 − 0.03515625 for a = −0.75
    // (a = −0.5 would give 0.203125).
    const up = resizeBicubic(Float32Array.from([0, 1]), 1, 1, 2, 1, 4);
    expect(up[1]).toBe(0.2265625);
  });
});

describe("CLIP vision tower (use_31_block, no post-norm)", () => {
  const built: Record<string, { session: ort.InferenceSession; entry: Awaited<ReturnType<typeof convert>>["entry"] }> = {};
  beforeAll(async () => {
    built.diffusers = await convert("hf", await source("diffusers"));
    built.official = await convert("official", await source("official"));
  });

  for (const layout of ["diffusers", "official"] as const) {
    it(`matches clip_fea [17, 32] from clip_pixels, ${layout} layout (max abs err ≤ 1e-4)`, async () => {
      const { entry, session } = built[layout];
      expect(entry.config).toEqual(TINY_CLIP);
      const out = await encodePixels(session, await golden("clip_pixels"));
      expect([out.tokens, out.width]).toEqual([17, 32]);
      const err = maxAbsDiff(out.features, await golden("clip_fea"));
      console.log(`clip_fea (${layout}) max abs err ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(1e-4);
    });

    it(`matches clip_fea from clip_image through the TypeScript preprocessing, ${layout} layout`, async () => {
      const out = await encodeImage(built[layout].session, await golden("clip_image"), 40, 72);
      expect(out.size).toBe(56);
      const err = maxAbsDiff(out.features, await golden("clip_fea"));
      console.log(`clip_fea from clip_image (${layout}) max abs err ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(1e-4);
    });

    it(`matches every intermediate, the last block's too, ${layout} layout`, async () => {
      const session = await debugSession(`debug-${layout}`, await source(layout));
      const out = await session.run({ pixels: new ort.Tensor("float32", await golden("clip_pixels"), [1, 3, 56, 56]) });
      const pairs = {
        patch_embed: "clip_int_patch_embed",
        embeddings: "clip_int_embeddings",
        pre_norm_out: "clip_int_pre_norm_out",
        block0_out: "clip_int_block0_out",
        block1_out: "clip_int_block1_out",
        clip_fea: "clip_fea",
        all_blocks_out: "clip_int_all_blocks_out",
      };
      for (const [mine, theirs] of Object.entries(pairs)) {
        const shape = (await G()).info(theirs).shape;
        expect(out[mine].dims, mine).toEqual(shape.length === 2 ? [1, ...shape] : shape); // clip_fea is stored without its batch axis
        expect(maxAbsDiff(out[mine].data as Float32Array, await golden(theirs)), mine).toBeLessThanOrEqual(1e-4);
      }
      // clip_fea is block 1's output, not the last block's: the two differ.
      expect(maxAbsDiff(out.clip_fea.data as Float32Array, await golden("clip_int_all_blocks_out"))).toBeGreaterThan(1e-2);
      await session.release();
    });
  }

  it("leaves the last block, post-norm and head out of the production graph", async () => {
    const names = new Set(built.official.session.inputNames.concat(built.official.session.outputNames));
    expect([...names].sort()).toEqual(["clip_fea", "pixels"]);
    const onnx = readFileSync(path.join(work, "official", IMAGE_ENCODER_FILE), "latin1");
    expect(onnx).toContain("visual.transformer.1.attn.to_qkv.weight");
    expect(onnx).not.toContain("visual.transformer.2.");
    expect(onnx).not.toContain("visual.post_norm");
    expect(onnx).not.toContain("visual.head");
  });

  it("fp16 graphs stay within 5e-3 of the golden, relative to the output scale", async () => {
    const { session } = await convert("fp16", await source("diffusers"), "fp16");
    const ref = await golden("clip_fea");
    const out = await encodePixels(session, await golden("clip_pixels"));
    const rel = maxAbsDiff(out.features, ref) / maxAbs(ref);
    console.log(`clip_fea fp16 relative err ${rel.toExponential(2)}`);
    expect(rel).toBeLessThan(5e-3);
  });
});

describe("CLIP checkpoint names and layouts", () => {
  it("maps every name between the official and HF layouts, both ways (fixture key map, fused q/k/v as three rows)", () => {
    for (const [official, hf] of Object.entries(keyMap())) {
      expect(clipKeyToHF(official)).toEqual(hf);
      if (Array.isArray(hf)) hf.forEach((name, part) => expect(clipKeyFromHF(name)).toEqual({ key: official, part }));
      else expect(clipKeyFromHF(hf)).toEqual({ key: official });
    }
  });

  it("splits the official tensors into exactly the HF file's (q/k/v rows, squeezed embeddings, transposed head)", async () => {
    const official = await SafetensorsFile.open(OFFICIAL_FILE);
    const hf = await SafetensorsFile.open(path.join(HF_DIR, "model.safetensors"));
    try {
      const written = new Map<string, { shape: number[]; data: Float32Array }>();
      for (const [name, info] of official.tensors) {
        for (const t of clipTensorsToHF(name, info.shape, await official.readFloat32(name))) written.set(t.name, t);
      }
      expect([...written.keys()].sort()).toEqual([...hf.tensors.keys()].sort());
      for (const [name, t] of written) {
        expect(t.shape, name).toEqual(hf.info(name).shape);
        expect(maxAbsDiff(t.data, await hf.readFloat32(name)), name).toBe(0);
      }
    } finally {
      await official.close();
      await hf.close();
    }
  });

  it("reads an HF file as exactly the official tensors (q/k/v fused), with the official shapes", async () => {
    const official = await SafetensorsFile.open(OFFICIAL_FILE);
    const weights = await openClipWeights([path.join(HF_DIR, "model.safetensors")], "diffusers");
    try {
      expect(weights.keys().sort()).toEqual([...official.tensors.keys()].sort());
      for (const [name, info] of official.tensors) {
        expect(weights.info(name).shape, name).toEqual(info.shape);
        expect(maxAbsDiff(await weights.float32(name, info.shape), await official.readFloat32(name)), name).toBe(0);
      }
      // The graph's form: the fused weight transposed to [in, 3·out], streamed by a derived initializer.
      const qkv = weights.initializer("visual.transformer.0.attn.to_qkv.weight", [96, 32], { to: "float32", transpose: true });
      expect(qkv.dims).toEqual([32, 96]);
      const chunks: Uint8Array[] = [];
      for await (const c of qkv.chunks()) chunks.push(c);
      const fused = new Float32Array(Buffer.concat(chunks).buffer.slice(0));
      const ref = await official.readFloat32("visual.transformer.0.attn.to_qkv.weight");
      expect(fused[5 * 96 + 70]).toBe(ref[70 * 32 + 5]); // row 70 (v, channel 6) of the official weight
    } finally {
      await official.close();
      await weights.close();
    }
  });
});

describe("CLIP configuration", () => {
  it("reads the HF config.json and both official formats as the same configuration", () => {
    const hf = clipConfigFromHF(JSON.parse(readFileSync(path.join(HF_DIR, "config.json"), "utf8")));
    const json = officialConfig();
    expect(hf).toEqual(TINY_CLIP);
    expect(clipConfigFromOfficial(json)).toEqual(hf);
    expect(clipConfigFromOfficial(json.VisionTransformer)).toEqual(hf);
    expect(clipConfigFromOfficial(json.clip_xlm_roberta_vit_h_14_kwargs)).toEqual(hf);
  });

  it("infers ViT-H/14 from tensor shapes (80-wide heads), and names what it cannot infer", () => {
    const shapes: Record<string, number[]> = {
      "visual.patch_embedding.weight": [1280, 3, 14, 14],
      "visual.pos_embedding": [1, 257, 1280],
      "visual.transformer.0.mlp.0.weight": [5120, 1280],
      "visual.head": [1280, 1024],
    };
    const names = [...Object.keys(shapes), ...Array.from({ length: 32 }, (_, i) => `visual.transformer.${i}.norm1.weight`)];
    expect(clipConfigFromShapes((k) => shapes[k], names)).toEqual(CLIP_VIT_H_14);
    expect(clipTokens(CLIP_VIT_H_14)).toBe(CLIP_TOKENS);
    shapes["visual.patch_embedding.weight"] = [32, 3, 14, 14];
    expect(() => clipConfigFromShapes((k) => shapes[k], names)).toThrow(/32 wide, not a multiple of ViT-H\/14's 80-wide heads/);
  });

  it("rejects activations and block layouts Wan's tower does not have", () => {
    const hf = JSON.parse(readFileSync(path.join(HF_DIR, "config.json"), "utf8"));
    expect(() => clipConfigFromHF({ ...hf, hidden_act: "quick_gelu" })).toThrow(/hidden_act "quick_gelu" is not supported/);
    const { hidden_act: _omitted, ...withoutAct } = hf;
    expect(() => clipConfigFromHF(withoutAct)).toThrow(/"quick_gelu"/); // transformers' default when the field is absent
    const vt = officialConfig().VisionTransformer;
    expect(() => clipConfigFromOfficial({ VisionTransformer: { ...vt, post_norm: true } })).toThrow(/post_norm true is not supported/);
    expect(() => clipConfigFromOfficial({ VisionTransformer: { ...vt, pool_type: "attn" } })).toThrow(/pool_type "attn"/);
  });
});

describe("a CLIP checkpoint that does not match the architecture", () => {
  async function edited(from: string, edit: (t: Map<string, TensorToWrite>) => void): Promise<string> {
    const src = await SafetensorsFile.open(from);
    const tensors = new Map<string, TensorToWrite>();
    for (const [name, info] of src.tensors) tensors.set(name, { name, dtype: "float32", shape: info.shape, data: await src.readFloat32(name) });
    await src.close();
    edit(tensors);
    const file = path.join(tempDir("clip-bad"), "clip.safetensors");
    await writeSafetensors(file, [...tensors.values()]);
    return file;
  }
  const convertFile = async (file: string, layout: "official" | "diffusers") =>
    convertImageEncoder({ ...(await source(layout, file)), config: layout === "official" ? officialConfig() : JSON.parse(readFileSync(path.join(HF_DIR, "config.json"), "utf8")) }, tempDir("clip-out"), { precision: "fp32" });
  const HF_FILE = path.join(HF_DIR, "model.safetensors");
  const K1 = "vision_model.encoder.layers.1.self_attn.k_proj.weight";

  it("names a missing tensor (one of a fused q/k/v)", async () => {
    const file = await edited(HF_FILE, (t) => t.delete(K1));
    await expect(convertFile(file, "diffusers")).rejects.toThrow(`image encoder: missing tensor ${K1}`);
  });

  it("names a mis-shaped tensor with both shapes", async () => {
    const file = await edited(OFFICIAL_FILE, (t) => t.set("visual.transformer.0.mlp.0.weight", { name: "visual.transformer.0.mlp.0.weight", dtype: "float32", shape: [64, 32], data: new Float32Array(64 * 32) }));
    await expect(convertFile(file, "official")).rejects.toThrow(/visual\.transformer\.0\.mlp\.0\.weight .*has shape \[64,32\], expected \[128,32\]/);
  });

  it("names an unexpected tensor, but accepts the text tower and the checks of the unused last block", async () => {
    const extra = await edited(OFFICIAL_FILE, (t) => t.set("visual.transformer.0.attn.gate", { name: "visual.transformer.0.attn.gate", dtype: "float32", shape: [4], data: new Float32Array(4) }));
    await expect(convertFile(extra, "official")).rejects.toThrow(/unexpected tensor visual\.transformer\.0\.attn\.gate/);
    const withText = await edited(OFFICIAL_FILE, (t) => {
      t.set("textual.token_embedding.weight", { name: "textual.token_embedding.weight", dtype: "float32", shape: [4, 2], data: new Float32Array(8) });
      t.set("log_scale", { name: "log_scale", dtype: "float32", shape: [], data: new Float32Array(1) });
    });
    await expect(convertFile(withText, "official")).resolves.toMatchObject({ config: TINY_CLIP });
    const badLast = await edited(OFFICIAL_FILE, (t) => t.set("visual.transformer.2.mlp.2.bias", { name: "visual.transformer.2.mlp.2.bias", dtype: "float32", shape: [31], data: new Float32Array(31) }));
    await expect(convertFile(badLast, "official")).rejects.toThrow(/visual\.transformer\.2\.mlp\.2\.bias .*has shape \[31\], expected \[32\]/);
  });

  it("names open_clip's own layout, and a config-less file whose heads it cannot infer", async () => {
    const openClip = await edited(OFFICIAL_FILE, (t) => t.set("visual.conv1.weight", { name: "visual.conv1.weight", dtype: "float32", shape: [1], data: new Float32Array(1) }));
    await expect(convertFile(openClip, "official")).rejects.toThrow(/open_clip's own layout .* is not supported/);
    const [lone] = await discoverSources(OFFICIAL_FILE);
    await expect(convertImageEncoder(lone, tempDir("clip-out"), { precision: "fp32" })).rejects.toThrow(/cannot infer the head count/);
  });
});

describe("models tiny --i2v", () => {
  const out = path.join(work, "tiny-i2v");
  beforeAll(async () => {
    await promisify(execFile)(process.execPath, ["--import", "tsx", "cli/models.ts", "tiny", "--out", out, "--i2v", "--seed", "2"]);
  });

  it("writes a Fun-InP-style pipeline with an HF-layout CLIP and converts it into an i2v model with an image encoder", async () => {
    const m = await readManifest(out);
    expect(m).toMatchObject({ tiny: true, variant: "i2v", textLen: 512 });
    expect(m.components.transformer!.config).toMatchObject({ modelType: "i2v", inDim: 36, imageDim: 32, textLen: 512 });
    expect(m.components.imageEncoder).toEqual({ file: IMAGE_ENCODER_FILE, precision: "fp32", config: TINY_CLIP });
    const index = JSON.parse(readFileSync(path.join(out, "source-diffusers", "model_index.json"), "utf8"));
    expect(index).toMatchObject({ _class_name: "WanImageToVideoPipeline", image_encoder: ["transformers", "CLIPVisionModelWithProjection"], image_processor: ["transformers", "CLIPImageProcessor"] });
    // The same tensors (names and shapes) as the fixture's CLIPVisionModelWithProjection of the same size.
    const mine = await SafetensorsFile.open(path.join(out, "source-diffusers", "image_encoder", "model.safetensors"));
    const theirs = await SafetensorsFile.open(path.join(HF_DIR, "model.safetensors"));
    const shapes = (f: SafetensorsFile) => Object.fromEntries([...f.tensors].map(([n, i]) => [n, i.shape]));
    expect(shapes(mine)).toEqual(shapes(theirs));
    await mine.close();
    await theirs.close();
    expect(clipConfigFromHF(JSON.parse(readFileSync(path.join(out, "source-diffusers", "image_encoder", "config.json"), "utf8")))).toEqual(TINY_CLIP);
  });

  it("runs CLIP and the image-conditioned DiT end to end on a random image (shapes right, values finite)", async () => {
    const m = await readManifest(out);
    const image = gaussianNoise(11, 3 * 48 * 80).map((v) => Math.tanh(v));
    const clip = await prepareComponent("clip", { model: out }, runtime);
    const enc = await clip.run(new Map([["image", { shape: [3, 48, 80], data: image }]]));
    await clip.release();
    expect(enc.get("pixels")!.shape).toEqual([3, 56, 56]);
    const fea = enc.get("clip_fea")!;
    expect(fea.shape).toEqual([17, 32]);
    expect((fea.data as Float32Array).every(Number.isFinite)).toBe(true);

    const dit = await DiTRunner.load(out, m, runtime);
    const [F, H, W] = [2, 6, 10];
    const [velocity] = await dit.predict({
      latents: [gaussianNoise(12, 16 * F * H * W)],
      shape: { channels: 16, frames: F, height: H, width: W },
      timestep: 900,
      contexts: [{ data: gaussianNoise(13, 7 * 32), rows: 7 }],
      imageCondition: { y: gaussianNoise(14, 20 * F * H * W), clip: fea.data as Float32Array },
    });
    await dit.release();
    expect(velocity.length).toBe(16 * F * H * W);
    expect(velocity.every(Number.isFinite)).toBe(true);
    expect(maxAbs(velocity)).toBeGreaterThan(0);
  });
});
