/**
 * umT5 encoder parity with the official Wan 2.1 goldens (official wan/modules/t5.py, umt5_xxl), from the HF/Diffusers folder and
 * from single files, run the way the engine runs it: real tokens only, no mask (docs/model-notes.md#prompt-handling derived
 * simplification). Also the relative-position buckets (official wan/modules/t5.py, T5RelativeEmbedding), config parsing, and the named errors a wrong
 * checkpoint gets.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeTokens, relativePositionBuckets } from "../../lib/engine/text-encoder.ts";
import { resolveRuntime, sessionOptions } from "../../lib/engine/runtime.ts";
import { GraphBuilder } from "../../models/graph/builder.ts";
import { saveGraph } from "../../models/graph/save.ts";
import { Params, type Precision } from "../../models/nn.ts";
import { buildUMT5Encoder, UMT5_XXL, type UMT5Config } from "../../models/umt5.ts";
import {
  openUMT5Weights,
  umt5Config,
  umt5ConfigFromHF,
  umt5ConfigFromOfficial,
  umt5ConfigFromShapes,
} from "../../models/umt5-checkpoint.ts";
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from "../../models/weights/safetensors.ts";
import { fixture, maxAbs, maxAbsDiff } from "../helpers/fixtures.ts";

const HF_DIR = fixture("text_encoder");
const SINGLE_FILE = fixture("official", "umt5_tiny.safetensors");

const work = mkdtempSync(path.join(os.tmpdir(), "umt5-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// official_configs.json was written by Python's json module, which spells infinities without quotes.
const readJson = (p: string) =>
  JSON.parse(readFileSync(p, "utf8").replace(/-?Infinity|NaN/g, "null")) as Record<string, unknown>;
const hfConfig = () => readJson(path.join(HF_DIR, "config.json"));

let goldens: SafetensorsFile;
beforeAll(async () => {
  goldens = await SafetensorsFile.open(fixture("goldens.safetensors"));
});
afterAll(() => goldens?.close());

async function int64s(name: string): Promise<BigInt64Array> {
  const bytes = (await goldens.read(name)).slice(); // copy: the view must start 8-byte aligned
  return new BigInt64Array(bytes.buffer, 0, bytes.byteLength / 8);
}

/**
 * fp16 bar, relative to the output's largest magnitude: float16 rounds to 2⁻¹¹ ≈ 4.9e-4 relative, and every
 * weight, the token rows and the attention inputs are rounded once per layer, so ~10 roundings' worth;
 * measured 1.5e-3 (case 1) and 1.6e-3 (case 2) on ONNX Runtime 1.30 CPU.
 */
const FP16_REL_TOL = 5e-3;

type Built = { session: ort.InferenceSession; cfg: UMT5Config };

/** Weights → graph → text_encoder.onnx in its own folder → a CPU session, as conversion and the engine do. */
async function build(name: string, files: string[], config: Record<string, unknown> | null, precision: Precision = "fp32"): Promise<Built> {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const store = await openUMT5Weights(files);
  try {
    const cfg = umt5Config(store, config);
    const g = new GraphBuilder("umt5_encoder");
    buildUMT5Encoder(g, new Params(g, store, "", precision), cfg);
    store.assertAllUsed();
    await saveGraph(g, { dir, file: "text_encoder.onnx" });
    // An explicit thread count: runtime.ts passes `intraOpNumThreads: undefined` for 0, which onnxruntime-node 1.30 rejects.
    const runtime = await resolveRuntime({ executionProviders: ["cpu"], threads: os.availableParallelism() });
    const session = await ort.InferenceSession.create(path.join(dir, "text_encoder.onnx"), sessionOptions(runtime));
    return { session, cfg };
  } finally {
    await store.close();
  }
}

/** The valid tokens of a golden case: the mask must be ones then zeros; returns the ids and their count. */
async function goldenCase(c: number): Promise<{ ids: BigInt64Array; valid: number }> {
  const ids = await int64s(`t5_case${c}_ids`);
  const mask = await int64s(`t5_case${c}_mask`);
  const valid = mask.reduce((n, m) => n + Number(m), 0);
  expect([...mask]).toEqual([...mask].map((_, i) => (i < valid ? 1n : 0n)));
  return { ids, valid };
}

async function caseError(built: Built, c: number): Promise<{ err: number; scale: number }> {
  const { ids, valid } = await goldenCase(c);
  const out = await encodeTokens(built.session, ids, valid, built.cfg);
  expect([out.rows, out.dim]).toEqual([valid, built.cfg.dModel]);
  const ref = await goldens.readFloat32(`t5_case${c}_hidden_trimmed`);
  return { err: maxAbsDiff(out.hidden, ref), scale: maxAbs(ref) };
}

/** The table of Official wan/modules/t5.py, T5RelativeEmbedding._relative_position_bucket, written out independently of the formula: [from, to] distances (inclusive) → bucket. */
const TABLE_41: [number, number, number][] = [
  [0, 7, -1], // n itself
  [8, 11, 8], [12, 15, 9], [16, 22, 10], [23, 31, 11], [32, 45, 12], [46, 63, 13], [64, 90, 14], [91, Infinity, 15],
];
function tableBucket(rel: number): number {
  const n = Math.abs(rel);
  const [, , b] = TABLE_41.find(([lo, hi]) => n >= lo && n <= hi)!;
  return (b < 0 ? n : b) + (rel > 0 ? 16 : 0);
}

describe("relative position buckets (official wan/modules/t5.py, T5RelativeEmbedding)", () => {
  it("equal the official t5_rel_buckets [16, 16] exactly", async () => {
    expect(goldens.info("t5_rel_buckets").shape).toEqual([16, 16]);
    expect([...relativePositionBuckets(16)]).toEqual([...(await int64s("t5_rel_buckets"))]);
  });

  it("follow the official wan/modules/t5.py, T5RelativeEmbedding._relative_position_bucket out to ±299, with rel = key − query and bucket 16 never produced", () => {
    const L = 300;
    const b = relativePositionBuckets(L);
    const seen = new Set<number>();
    for (let q = 0; q < L; q++) {
      for (let k = 0; k < L; k++) {
        const got = Number(b[q * L + k]);
        seen.add(got);
        if (got !== tableBucket(k - q)) throw new Error(`bucket(q=${q}, k=${k}) = ${got}, table says ${tableBucket(k - q)}`);
      }
    }
    expect(seen.has(16)).toBe(false);
    expect(seen.size).toBe(31);
  });

  it("gathered from each layer's own table, give the official per-block position bias", async () => {
    const L = 16;
    const buckets = relativePositionBuckets(L);
    const weights = await SafetensorsFile.open(path.join(HF_DIR, "model.safetensors"));
    try {
      for (const block of [0, 1]) {
        const table = await weights.readFloat32(`encoder.block.${block}.layer.0.SelfAttention.relative_attention_bias.weight`);
        const heads = 4;
        const mine = new Float32Array(heads * L * L);
        for (let h = 0; h < heads; h++) {
          for (let i = 0; i < L * L; i++) mine[h * L * L + i] = table[Number(buckets[i]) * heads + h];
        }
        expect(maxAbsDiff(mine, await goldens.readFloat32(`t5_case1_int_block${block}_pos_bias`))).toBe(0);
      }
    } finally {
      await weights.close();
    }
  });
});

describe("umT5 configuration", () => {
  const tiny: UMT5Config = { vocab: 128, dModel: 32, dKv: 8, numHeads: 4, dFf: 64, numLayers: 2, numBuckets: 32, maxDistance: 128, eps: 1e-6 };

  it("reads the HF config.json, the official T5Encoder config and the tensor shapes alike", async () => {
    expect(umt5ConfigFromHF(hfConfig())).toEqual(tiny);
    expect(umt5ConfigFromOfficial(readJson(fixture("official", "official_configs.json")).T5Encoder as Record<string, unknown>)).toEqual(tiny);
    const store = await openUMT5Weights([SINGLE_FILE]);
    try {
      expect(umt5Config(store, null)).toEqual(tiny);
    } finally {
      await store.close();
    }
  });

  it("infers umT5-XXL from its shapes (official wan/modules/t5.py, T5Encoder; docs/model-notes.md#checkpoint-layouts) and counts its 5,680,910,336 parameters", () => {
    const shapes = new Map<string, number[]>([["shared.weight", [256_384, 4096]]]);
    for (let i = 0; i < 24; i++) {
      const b = `encoder.block.${i}.layer`;
      for (const m of ["q", "k", "v", "o"]) shapes.set(`${b}.0.SelfAttention.${m}.weight`, [4096, 4096]);
      shapes.set(`${b}.0.SelfAttention.relative_attention_bias.weight`, [32, 64]);
      shapes.set(`${b}.0.layer_norm.weight`, [4096]);
      shapes.set(`${b}.1.layer_norm.weight`, [4096]);
      shapes.set(`${b}.1.DenseReluDense.wi_0.weight`, [10_240, 4096]);
      shapes.set(`${b}.1.DenseReluDense.wi_1.weight`, [10_240, 4096]);
      shapes.set(`${b}.1.DenseReluDense.wo.weight`, [4096, 10_240]);
    }
    shapes.set("encoder.final_layer_norm.weight", [4096]);
    expect(umt5ConfigFromShapes((k) => shapes.get(k), [...shapes.keys()])).toEqual(UMT5_XXL);
    expect(shapes.size).toBe(242);
    expect([...shapes.values()].reduce((n, s) => n + s.reduce((a, d) => a * d, 1), 0)).toBe(5_680_910_336);
  });

  it("rejects configs of other architectures by name", () => {
    expect(() => umt5ConfigFromHF({ ...hfConfig(), model_type: "t5" })).toThrow(/model_type "t5"/);
    expect(() => umt5ConfigFromOfficial({ vocab: 1, dim: 8, dim_attn: 8, dim_ffn: 8, num_heads: 2, num_layers: 1, num_buckets: 32, shared_pos: true })).toThrow(/shared_pos/);
  });
});

describe("umT5 encoder graph vs the official goldens (real tokens only, no mask)", () => {
  const built: Record<string, Built> = {};
  const measured: string[] = [];
  beforeAll(async () => {
    built.hf = await build("hf", [path.join(HF_DIR, "model.safetensors")], hfConfig());
    built.single = await build("single", [SINGLE_FILE], null);
  });
  afterAll(() => console.log(`umT5 max abs errors: ${measured.join("; ")}`));

  for (const source of ["hf", "single"]) {
    it.each([1, 2])(`t5_case%i hidden_trimmed within 1e-4 (${source}, fp32)`, async (c) => {
      const { err } = await caseError(built[source], c);
      measured.push(`${source} case${c} fp32 ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(1e-4);
    });
  }

  it("official-layout names (docs/model-notes.md#checkpoint-layouts), the tied embed_tokens copy and ComfyUI's spiece_model tensor load to the same result", async () => {
    const keyMap = readJson(fixture("official", "key_map.json")).text_encoder as Record<string, string>; // official → HF
    const toOfficial = new Map(Object.entries(keyMap).map(([official, hf]) => [hf, official]));
    const src = await SafetensorsFile.open(SINGLE_FILE);
    const tensors: TensorToWrite[] = [];
    try {
      for (const t of src.tensors.values()) {
        const data = await src.read(t.name);
        tensors.push({ name: toOfficial.get(t.name)!, dtype: t.dtype, shape: t.shape, data });
        if (t.name === "shared.weight") tensors.push({ name: "encoder.embed_tokens.weight", dtype: t.dtype, shape: t.shape, data });
      }
    } finally {
      await src.close();
    }
    expect(tensors.filter((t) => t.name === undefined)).toEqual([]);
    tensors.push({ name: "spiece_model", dtype: "uint8", shape: [5], data: new Uint8Array([1, 2, 3, 4, 5]) });
    const file = path.join(work, "umt5_official_names.safetensors");
    await writeSafetensors(file, tensors);
    const official = readJson(fixture("official", "official_configs.json")).T5Encoder as Record<string, unknown>;
    const b = await build("official-names", [file], official);
    for (const c of [1, 2]) expect((await caseError(b, c)).err).toBeLessThanOrEqual(1e-4);
  });

  it("needs the trimming: the 16 padded ids run without a mask give different rows (the test can fail)", async () => {
    const { ids, valid } = await goldenCase(2);
    const out = await encodeTokens(built.hf.session, ids, ids.length, built.hf.cfg);
    const ref = await goldens.readFloat32("t5_case2_hidden_trimmed");
    expect(maxAbsDiff(out.hidden.subarray(0, valid * 32), ref)).toBeGreaterThan(1e-2);
  });

  it("fp16 (fp16 Linear weights, token table and attention; fp32 norms and residual) within 5e-3 of the output scale", async () => {
    const fp16 = await build("fp16", [path.join(HF_DIR, "model.safetensors")], hfConfig(), "fp16");
    for (const c of [1, 2]) {
      const { err, scale } = await caseError(fp16, c);
      measured.push(`hf case${c} fp16 ${err.toExponential(2)} (rel ${(err / scale).toExponential(2)})`);
      expect(err / scale).toBeLessThan(FP16_REL_TOL);
    }
  });

  it("rejects a length outside the ids", async () => {
    await expect(encodeTokens(built.hf.session, [1n, 2n], 3)).rejects.toThrow(/length 3 is outside 1…2/);
    await expect(encodeTokens(built.hf.session, [1n, 2n], 0)).rejects.toThrow(/length 0/);
  });
});

describe("umT5 checkpoint errors name the tensor", () => {
  /** The single file with one change, written to the temp folder. */
  async function variant(name: string, edit: (tensors: TensorToWrite[]) => TensorToWrite[]): Promise<string> {
    const src = await SafetensorsFile.open(SINGLE_FILE);
    const tensors: TensorToWrite[] = [];
    try {
      for (const t of src.tensors.values()) tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await src.read(t.name) });
    } finally {
      await src.close();
    }
    const file = path.join(work, `${name}.safetensors`);
    await writeSafetensors(file, edit(tensors));
    return file;
  }
  const WO = "encoder.block.1.layer.1.DenseReluDense.wo.weight";
  const Q = "encoder.block.0.layer.0.SelfAttention.q.weight";

  it("a missing tensor", async () => {
    const file = await variant("missing", (ts) => ts.filter((t) => t.name !== WO));
    await expect(build("missing", [file], hfConfig())).rejects.toThrow(`text encoder: missing tensor ${WO}`);
  });

  it("a mis-shaped tensor", async () => {
    const file = await variant("misshaped", (ts) =>
      ts.map((t) => (t.name === Q ? { ...t, shape: [31, 32], data: new Float32Array(31 * 32) } : t)),
    );
    await expect(build("misshaped", [file], hfConfig())).rejects.toThrow(new RegExp(`tensor ${Q.replace(/\./g, "\\.")} .*has shape \\[31,32\\], expected \\[32,32\\]`));
  });

  it("an unexpected tensor", async () => {
    const extra = "encoder.block.0.layer.0.SelfAttention.extra.weight";
    const file = await variant("unexpected", (ts) => [...ts, { name: extra, dtype: "float32", shape: [4], data: new Float32Array(4) }]);
    await expect(build("unexpected", [file], hfConfig())).rejects.toThrow(new RegExp(`unexpected tensor ${extra.replace(/\./g, "\\.")}`));
  });
});
