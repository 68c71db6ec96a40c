/**
 * Reading umT5 encoder checkpoints in either layout (docs/model-notes.md#checkpoint-layouts): tensor names (official `.pth`-style →
 * Hugging Face, the names the model definition uses; HF's tied duplicate of the token table and ComfyUI's
 * embedded tokenizer are skipped) and the configuration (HF config.json, the official `T5Encoder` config,
 * or inferred from tensor shapes).
 */
import { WeightStore } from "./weights/store.ts";
import { openTensorFile } from "./weights/open.ts";
import type { UMT5Config } from "./umt5.ts";

/** Official name → HF name (docs/model-notes.md#checkpoint-layouts, left column → middle column), as ordered rules. */
const OFFICIAL_TO_HF: [RegExp, string][] = [
  [/^token_embedding\.weight$/, "shared.weight"],
  [/^blocks\.(\d+)\.norm1\.weight$/, "encoder.block.$1.layer.0.layer_norm.weight"],
  [/^blocks\.(\d+)\.attn\.([qkvo])\.weight$/, "encoder.block.$1.layer.0.SelfAttention.$2.weight"],
  [/^blocks\.(\d+)\.pos_embedding\.embedding\.weight$/, "encoder.block.$1.layer.0.SelfAttention.relative_attention_bias.weight"],
  [/^blocks\.(\d+)\.norm2\.weight$/, "encoder.block.$1.layer.1.layer_norm.weight"],
  [/^blocks\.(\d+)\.ffn\.gate\.0\.weight$/, "encoder.block.$1.layer.1.DenseReluDense.wi_0.weight"], // GELU branch
  [/^blocks\.(\d+)\.ffn\.fc1\.weight$/, "encoder.block.$1.layer.1.DenseReluDense.wi_1.weight"], // linear branch
  [/^blocks\.(\d+)\.ffn\.fc2\.weight$/, "encoder.block.$1.layer.1.DenseReluDense.wo.weight"],
  [/^norm\.weight$/, "encoder.final_layer_norm.weight"],
];

/** Maps an official umT5 tensor name to the HF one (names already HF-style pass through). */
export function umt5KeyFromOfficial(name: string): string {
  for (const [pattern, replacement] of OFFICIAL_TO_HF) {
    if (pattern.test(name)) return name.replace(pattern, replacement);
  }
  return name;
}

/** ComfyUI's umT5 files carry the SentencePiece model as a uint8 tensor of this name (docs/model-notes.md#checkpoint-layouts). */
export const SPIECE_TENSOR = "spiece_model";
/** HF's encoder exposes the token table a second time under this name (tied to `shared.weight`). */
export const TIED_EMBEDDING = "encoder.embed_tokens.weight";

type Shapes = Map<string, number[]>;

/**
 * The rename for a checkpoint with these stored tensors: official names → HF names; the tokenizer blob
 * ignored; `encoder.embed_tokens.weight` ignored when `shared.weight` is there with the same shape (HF ties
 * them: one module, two names), or taken as the token table when it is the only copy.
 */
export function umt5Rename(stored: Shapes): (key: string) => string | undefined {
  const canonical = new Map([...stored].map(([k, s]) => [umt5KeyFromOfficial(k), s]));
  const shared = canonical.get("shared.weight");
  const tied = canonical.get(TIED_EMBEDDING);
  return (key) => {
    if (key === SPIECE_TENSOR) return undefined;
    const name = umt5KeyFromOfficial(key);
    if (name === TIED_EMBEDDING && tied) {
      if (!shared) return "shared.weight";
      // A differently shaped second table is not the tied copy: keep it, so it is reported as unexpected.
      if (shared.join() === tied.join()) return undefined;
    }
    return name;
  };
}

/** Opens umT5 weights (one file or the shards of one checkpoint, either layout) under HF names. */
export async function openUMT5Weights(files: string[]): Promise<WeightStore> {
  const shapes: Shapes = new Map();
  for (const file of files) {
    const f = await openTensorFile(file);
    try {
      for (const t of f.tensors.values()) shapes.set(t.name, t.shape);
    } finally {
      await f.close();
    }
  }
  return WeightStore.open("text encoder", files, umt5Rename(shapes));
}

type Json = Record<string, unknown>;

/** HF `UMT5EncoderModel` config.json (`d_model`, `d_kv`, `relative_attention_num_buckets`, …). */
export function umt5ConfigFromHF(c: Json): UMT5Config {
  const modelType = c.model_type;
  if (modelType !== undefined && modelType !== "umt5") {
    // T5 (v1.1) shares one bias table across layers; Wan's encoder is umT5 with a table per layer (official wan/modules/t5.py, T5Encoder).
    throw new Error(`text encoder config.json: model_type "${String(modelType)}" is not supported (expected "umt5")`);
  }
  const ff = (c.feed_forward_proj as string | undefined) ?? "gated-gelu";
  if (ff !== "gated-gelu") throw new Error(`text encoder config.json: feed_forward_proj "${ff}" is not supported (expected "gated-gelu")`);
  return {
    vocab: num(c, "vocab_size"),
    dModel: num(c, "d_model"),
    dKv: num(c, "d_kv"),
    numHeads: num(c, "num_heads"),
    dFf: num(c, "d_ff"),
    numLayers: num(c, "num_layers"),
    numBuckets: num(c, "relative_attention_num_buckets", 32),
    maxDistance: num(c, "relative_attention_max_distance", 128),
    eps: num(c, "layer_norm_epsilon", 1e-6),
  };
}

/**
 * The official `T5Encoder` arguments (`vocab`, `dim`, `dim_attn`, `dim_ffn`, `num_heads`, `num_layers`,
 * `num_buckets`, `shared_pos`). The official code fixes the maximum distance at 128 and eps at 1e-6 (official wan/modules/t5.py, T5RelativeEmbedding);
 * `shared_pos` must not be true (the official umt5_xxl passes false: one bias table per layer).
 */
export function umt5ConfigFromOfficial(c: Json): UMT5Config {
  if (c.shared_pos === true) throw new Error("T5Encoder config: shared_pos true (one bias table for all layers) is not umT5");
  const heads = num(c, "num_heads");
  const dimAttn = num(c, "dim_attn");
  if (dimAttn % heads !== 0) throw new Error(`T5Encoder config: dim_attn ${dimAttn} is not divisible by num_heads ${heads}`);
  return {
    vocab: num(c, "vocab"),
    dModel: num(c, "dim"),
    dKv: dimAttn / heads,
    numHeads: heads,
    dFf: num(c, "dim_ffn"),
    numLayers: num(c, "num_layers"),
    numBuckets: num(c, "num_buckets"),
    maxDistance: 128,
    eps: 1e-6,
  };
}

/**
 * Config from tensor shapes alone (HF names), for a single file with no config beside it. The head count
 * is the width of a bias table; the maximum distance is not stored anywhere, and every umT5 uses 128 (official wan/modules/t5.py, T5Encoder).
 */
export function umt5ConfigFromShapes(shape: (name: string) => number[] | undefined, names: string[]): UMT5Config {
  const need = (name: string) => {
    const s = shape(name);
    if (!s) throw new Error(`cannot infer the text encoder configuration: missing tensor ${name}`);
    return s;
  };
  const [vocab, dModel] = need("shared.weight");
  const [numBuckets, numHeads] = need("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
  const attn = need("encoder.block.0.layer.0.SelfAttention.q.weight")[0];
  if (attn % numHeads !== 0) throw new Error(`cannot infer the head width: q has ${attn} outputs for ${numHeads} heads`);
  const layers = new Set(names.map((n) => /^encoder\.block\.(\d+)\./.exec(n)?.[1]).filter((x) => x !== undefined));
  return {
    vocab,
    dModel,
    dKv: attn / numHeads,
    numHeads,
    dFf: need("encoder.block.0.layer.1.DenseReluDense.wi_0.weight")[0],
    numLayers: layers.size,
    numBuckets,
    maxDistance: 128,
    eps: 1e-6,
  };
}

/** The configuration of an opened store: the given config.json (HF or official format), else the shapes. */
export function umt5Config(store: WeightStore, config?: Json | null): UMT5Config {
  if (config && "d_model" in config) return umt5ConfigFromHF(config);
  if (config && "dim_attn" in config) return umt5ConfigFromOfficial(config);
  if (config) throw new Error("text encoder config: neither the Hugging Face (d_model) nor the official T5Encoder (dim_attn) format");
  return umt5ConfigFromShapes((k) => (store.has(k) ? store.info(k).shape : undefined), store.keys());
}

function num(c: Json, key: string, fallback?: number): number {
  const v = c[key];
  if (typeof v === "number") return v;
  if (fallback !== undefined) return fallback;
  throw new Error(`text encoder config: missing numeric field "${key}"`);
}
