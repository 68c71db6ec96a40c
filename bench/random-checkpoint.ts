/**
 * Random-weight Wan checkpoints for benchmarks: every tensor the DiT definition reads (listed by building it
 * against a recorder), in the official single-file layout (fp16, as Comfy-Org ships it) with the official
 * config.json beside it, so the converter reads it like a download; and the VAE under its official parameter
 * names (fp32). Realistic magnitudes (norm weights ≈ 1, matrices ≈ 1/√fan_in), not quality.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { GraphBuilder } from "../models/graph/builder.ts";
import { floatToHalf, halfToFloat } from "../models/graph/dtype.ts";
import { Params } from "../models/nn.ts";
import { buildWanDiT, type WanDiTConfig } from "../models/wan/dit.ts";
import { vaeParameterShapes, type WanVaeConfig } from "../models/wan/vae-layout.ts";
import { RecordingWeights } from "../models/weights/recording.ts";
import { SafetensorsWriter, writeSafetensors } from "../models/weights/safetensors.ts";

/** Wan2.1-T2V-1.3B (official wan/configs/wan_t2v_1_3B.py). */
export const WAN_1_3B_DIT: WanDiTConfig = {
  modelType: "t2v", patchSize: [1, 2, 2], textLen: 512, inDim: 16, dim: 1536, ffnDim: 8960, freqDim: 256,
  textDim: 4096, outDim: 16, numHeads: 12, numLayers: 30, eps: 1e-6, imageDim: null,
};

/** Fast deterministic uniform noise with unit variance, as fp16 chunks. */
export function* randomHalfs(count: number, scale: number, state: { s: number }): Generator<Uint16Array> {
  const CHUNK = 1 << 22;
  for (let done = 0; done < count; done += CHUNK) {
    const n = Math.min(CHUNK, count - done);
    const out = new Uint16Array(n);
    let s = state.s;
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const u = (s >>> 0) / 4294967296 - 0.5; // uniform in [-0.5, 0.5): variance 1/12
      out[i] = floatToHalf(u * 3.4641016 * scale);
    }
    state.s = s;
    yield out;
  }
}

/** The official `WanModel` config.json for a DiT configuration. */
export function officialDiTConfig(cfg: WanDiTConfig): Record<string, unknown> {
  return {
    _class_name: "WanModel",
    model_type: cfg.modelType,
    patch_size: cfg.patchSize,
    text_len: cfg.textLen,
    in_dim: cfg.inDim,
    dim: cfg.dim,
    ffn_dim: cfg.ffnDim,
    freq_dim: cfg.freqDim,
    text_dim: cfg.textDim,
    out_dim: cfg.outDim,
    num_heads: cfg.numHeads,
    num_layers: cfg.numLayers,
    eps: cfg.eps,
  };
}

/** Writes `file` (fp16 safetensors) and config.json beside it; returns the tensor and parameter counts. */
export async function writeRandomDiTCheckpoint(file: string, cfg: WanDiTConfig): Promise<{ tensors: number; params: number }> {
  const rec = new RecordingWeights("transformer");
  const g = new GraphBuilder("enumerate");
  buildWanDiT(g, new Params(g, rec, "", "fp32"), cfg);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(path.join(path.dirname(file), "config.json"), JSON.stringify(officialDiTConfig(cfg), null, 2));
  const specs = [...rec.requested].map(([name, shape]) => ({ name, dtype: "float16" as const, shape }));
  const writer = await SafetensorsWriter.create(file, specs);
  const state = { s: 0x2545f491 };
  let params = 0;
  for (const { name, shape } of specs) {
    const count = shape.reduce((a, b) => a * b, 1);
    params += count;
    const isNormWeight = shape.length === 1 && name.endsWith(".weight");
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const scale = isNormWeight ? 0.1 : name.endsWith(".bias") ? 0.05 : name.includes("modulation") ? 0.1 : 1 / Math.sqrt(fanIn);
    for (const chunk of randomHalfs(count, scale, state)) {
      if (isNormWeight) for (let i = 0; i < chunk.length; i++) chunk[i] = floatToHalf(1 + halfToFloat(chunk[i]));
      await writer.write(name, chunk);
    }
  }
  await writer.close();
  return { tensors: specs.length, params };
}

/** mulberry32 → uniform (0, 1), Box–Muller → N(0, 1). */
export function normals(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** fp32 VAE under the official names (official wan/modules/vae.py): conv weights N(0,1)/√fan_in, biases 0.01·N(0,1), RMS_norm gammas 1 + 0.1·N(0,1). */
export async function writeRandomVaeCheckpoint(file: string, cfg: WanVaeConfig, seed: number): Promise<void> {
  const z = normals(seed);
  const tensors = [...vaeParameterShapes(cfg)].map(([name, shape]) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const kind = name.endsWith(".gamma") ? "gamma" : name.endsWith(".bias") ? "bias" : "weight";
    for (let i = 0; i < data.length; i++) {
      const r = z();
      data[i] = kind === "gamma" ? 1 + 0.1 * r : kind === "bias" ? 0.01 * r : r / Math.sqrt(fanIn);
    }
    return { name, dtype: "float32" as const, shape, data };
  });
  mkdirSync(path.dirname(file), { recursive: true });
  await writeSafetensors(file, tensors);
}
