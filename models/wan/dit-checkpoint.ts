/**
 * Reading Wan DiT checkpoints in either layout: tensor names (Diffusers → official, the names the model
 * definition uses) and the configuration (Diffusers config.json, official config.json, or inferred from
 * tensor shapes with 128-wide heads). See docs/model-notes.md#checkpoint-layouts.
 */
import type { WanDiTConfig } from "./dit.ts";

/**
 * Diffusers name → official name: the inverse of Diffusers' converter (Diffusers scripts/convert_wan_to_diffusers.py, TRANSFORMER_KEYS_RENAME_DICT), applied as ordered rules.
 * The image key/value renames come first because their Diffusers names contain the generic ones.
 */
const DIFFUSERS_TO_OFFICIAL: [RegExp, string][] = [
  [/^condition_embedder\.time_embedder\.linear_1\./, "time_embedding.0."],
  [/^condition_embedder\.time_embedder\.linear_2\./, "time_embedding.2."],
  [/^condition_embedder\.text_embedder\.linear_1\./, "text_embedding.0."],
  [/^condition_embedder\.text_embedder\.linear_2\./, "text_embedding.2."],
  [/^condition_embedder\.time_proj\./, "time_projection.1."],
  [/^condition_embedder\.image_embedder\.norm1\./, "img_emb.proj.0."],
  [/^condition_embedder\.image_embedder\.ff\.net\.0\.proj\./, "img_emb.proj.1."],
  [/^condition_embedder\.image_embedder\.ff\.net\.2\./, "img_emb.proj.3."],
  [/^condition_embedder\.image_embedder\.norm2\./, "img_emb.proj.4."],
  [/^condition_embedder\.image_embedder\.pos_embed$/, "img_emb.emb_pos"],
  [/^scale_shift_table$/, "head.modulation"],
  [/^proj_out\./, "head.head."],
  [/^(blocks\.\d+)\.scale_shift_table$/, "$1.modulation"],
  [/^(blocks\.\d+)\.norm2\./, "$1.norm3."], // the affine cross-attention norm (Diffusers scripts/convert_wan_to_diffusers.py, TRANSFORMER_KEYS_RENAME_DICT (norm3 ↔ norm2))
  [/^(blocks\.\d+)\.ffn\.net\.0\.proj\./, "$1.ffn.0."],
  [/^(blocks\.\d+)\.ffn\.net\.2\./, "$1.ffn.2."],
  [/^(blocks\.\d+)\.attn2\.add_k_proj\./, "$1.cross_attn.k_img."],
  [/^(blocks\.\d+)\.attn2\.add_v_proj\./, "$1.cross_attn.v_img."],
  [/^(blocks\.\d+)\.attn2\.norm_added_k\./, "$1.cross_attn.norm_k_img."],
  [/^(blocks\.\d+)\.attn1\.to_out\.0\./, "$1.self_attn.o."],
  [/^(blocks\.\d+)\.attn2\.to_out\.0\./, "$1.cross_attn.o."],
  [/^(blocks\.\d+)\.attn1\.to_([qkv])\./, "$1.self_attn.$2."],
  [/^(blocks\.\d+)\.attn2\.to_([qkv])\./, "$1.cross_attn.$2."],
  [/^(blocks\.\d+)\.attn1\.(norm_[qk])\./, "$1.self_attn.$2."],
  [/^(blocks\.\d+)\.attn2\.(norm_[qk])\./, "$1.cross_attn.$2."],
];

/** Maps a Diffusers DiT tensor name to the official one (names already official pass through). */
export function ditKeyFromDiffusers(name: string): string {
  for (const [pattern, replacement] of DIFFUSERS_TO_OFFICIAL) {
    if (pattern.test(name)) return name.replace(pattern, replacement);
  }
  return name;
}

/**
 * Official name → Diffusers name: Diffusers' converter rules (Diffusers scripts/convert_wan_to_diffusers.py, TRANSFORMER_KEYS_RENAME_DICT), written per name pattern. Used to write
 * Diffusers-layout checkpoints (the tiny test model).
 */
const OFFICIAL_TO_DIFFUSERS: [RegExp, string][] = [
  [/^time_embedding\.0\./, "condition_embedder.time_embedder.linear_1."],
  [/^time_embedding\.2\./, "condition_embedder.time_embedder.linear_2."],
  [/^text_embedding\.0\./, "condition_embedder.text_embedder.linear_1."],
  [/^text_embedding\.2\./, "condition_embedder.text_embedder.linear_2."],
  [/^time_projection\.1\./, "condition_embedder.time_proj."],
  [/^img_emb\.proj\.0\./, "condition_embedder.image_embedder.norm1."],
  [/^img_emb\.proj\.1\./, "condition_embedder.image_embedder.ff.net.0.proj."],
  [/^img_emb\.proj\.3\./, "condition_embedder.image_embedder.ff.net.2."],
  [/^img_emb\.proj\.4\./, "condition_embedder.image_embedder.norm2."],
  [/^img_emb\.emb_pos$/, "condition_embedder.image_embedder.pos_embed"],
  [/^head\.modulation$/, "scale_shift_table"],
  [/^head\.head\./, "proj_out."],
  [/^(blocks\.\d+)\.modulation$/, "$1.scale_shift_table"],
  [/^(blocks\.\d+)\.norm3\./, "$1.norm2."],
  [/^(blocks\.\d+)\.ffn\.0\./, "$1.ffn.net.0.proj."],
  [/^(blocks\.\d+)\.ffn\.2\./, "$1.ffn.net.2."],
  [/^(blocks\.\d+)\.cross_attn\.k_img\./, "$1.attn2.add_k_proj."],
  [/^(blocks\.\d+)\.cross_attn\.v_img\./, "$1.attn2.add_v_proj."],
  [/^(blocks\.\d+)\.cross_attn\.norm_k_img\./, "$1.attn2.norm_added_k."],
  [/^(blocks\.\d+)\.self_attn\.o\./, "$1.attn1.to_out.0."],
  [/^(blocks\.\d+)\.cross_attn\.o\./, "$1.attn2.to_out.0."],
  [/^(blocks\.\d+)\.self_attn\.([qkv])\./, "$1.attn1.to_$2."],
  [/^(blocks\.\d+)\.cross_attn\.([qkv])\./, "$1.attn2.to_$2."],
  [/^(blocks\.\d+)\.self_attn\.(norm_[qk])\./, "$1.attn1.$2."],
  [/^(blocks\.\d+)\.cross_attn\.(norm_[qk])\./, "$1.attn2.$2."],
];

export function ditKeyToDiffusers(name: string): string {
  for (const [pattern, replacement] of OFFICIAL_TO_DIFFUSERS) {
    if (pattern.test(name)) return name.replace(pattern, replacement);
  }
  return name;
}

/** ComfyUI full checkpoints prefix every DiT key with this (docs/model-notes.md#checkpoint-layouts). */
export const COMFY_PREFIX = "model.diffusion_model.";
/**
 * NVlabs' rCM checkpoints hold the official `WanModel` keys under `net.` (the inference script drops it:
 * rcm/inference/wan2pt1_t2v_rcm_infer.py, "drop net. prefix").
 */
export const RCM_PREFIX = "net.";

/** An official-layout DiT key without the ComfyUI or rCM wrapper prefix. */
export function stripComfyPrefix(name: string): string {
  for (const prefix of [COMFY_PREFIX, RCM_PREFIX]) if (name.startsWith(prefix)) return name.slice(prefix.length);
  return name;
}

type Json = Record<string, unknown>;

/** Official `WanModel` config.json (`dim`, `num_heads`, …). */
export function ditConfigFromOfficial(c: Json): WanDiTConfig {
  const patch = (c.patch_size as number[] | undefined) ?? [1, 2, 2];
  const modelType = (c.model_type as string | undefined) ?? "t2v";
  if (modelType !== "t2v" && modelType !== "i2v") {
    throw new Error(`unsupported model_type "${modelType}" (Wan 2.1 t2v and i2v are supported)`);
  }
  return {
    modelType,
    patchSize: [patch[0], patch[1], patch[2]],
    textLen: num(c, "text_len", 512),
    inDim: num(c, "in_dim", modelType === "i2v" ? 36 : 16),
    dim: num(c, "dim"),
    ffnDim: num(c, "ffn_dim"),
    freqDim: num(c, "freq_dim", 256),
    textDim: num(c, "text_dim", 4096),
    outDim: num(c, "out_dim", 16),
    numHeads: num(c, "num_heads"),
    numLayers: num(c, "num_layers"),
    eps: num(c, "eps", 1e-6),
    imageDim: modelType === "i2v" ? 1280 : null,
  };
}

/** The Diffusers config.json for a DiT configuration (what Diffusers' converter writes, Diffusers scripts/convert_wan_to_diffusers.py, TRANSFORMER_KEYS_RENAME_DICT). */
export function ditConfigToDiffusers(cfg: WanDiTConfig): Record<string, unknown> {
  return {
    _class_name: "WanTransformer3DModel",
    _diffusers_version: "0.33.0",
    patch_size: cfg.patchSize,
    num_attention_heads: cfg.numHeads,
    attention_head_dim: cfg.dim / cfg.numHeads,
    in_channels: cfg.inDim,
    out_channels: cfg.outDim,
    text_dim: cfg.textDim,
    freq_dim: cfg.freqDim,
    ffn_dim: cfg.ffnDim,
    num_layers: cfg.numLayers,
    cross_attn_norm: true,
    qk_norm: "rms_norm_across_heads",
    eps: cfg.eps,
    image_dim: cfg.imageDim,
    added_kv_proj_dim: cfg.imageDim ? cfg.dim : null,
    rope_max_seq_len: 1024,
    pos_embed_seq_len: null,
  };
}

/** Diffusers `WanTransformer3DModel` config.json; Diffusers stores no text length, so it is passed in. */
export function ditConfigFromDiffusers(c: Json, textLen: number): WanDiTConfig {
  const patch = (c.patch_size as number[] | undefined) ?? [1, 2, 2];
  const heads = num(c, "num_attention_heads");
  const imageDim = (c.image_dim as number | null | undefined) ?? null;
  return {
    modelType: imageDim ? "i2v" : "t2v",
    patchSize: [patch[0], patch[1], patch[2]],
    textLen,
    inDim: num(c, "in_channels"),
    dim: heads * num(c, "attention_head_dim"),
    ffnDim: num(c, "ffn_dim"),
    freqDim: num(c, "freq_dim", 256),
    textDim: num(c, "text_dim", 4096),
    outDim: num(c, "out_channels", 16),
    numHeads: heads,
    numLayers: num(c, "num_layers"),
    eps: num(c, "eps", 1e-6),
    imageDim,
  };
}

/**
 * Config from tensor shapes alone (official names), for a single file with no config.json beside it:
 * every Wan 2.1 model has 128-wide heads, patch (1, 2, 2) and text length 512.
 */
export function ditConfigFromShapes(shape: (name: string) => number[] | undefined, names: string[]): WanDiTConfig {
  const need = (name: string) => {
    const s = shape(name);
    if (!s) throw new Error(`cannot infer the DiT configuration: missing tensor ${name}`);
    return s;
  };
  const pe = need("patch_embedding.weight"); // [D, C, pt, ph, pw]
  const dim = pe[0];
  if (dim % 128 !== 0) throw new Error(`cannot infer the head count: patch_embedding has ${dim} channels, not a multiple of 128`);
  const layers = new Set(names.map((n) => /^blocks\.(\d+)\./.exec(n)?.[1]).filter((x) => x !== undefined));
  const i2v = names.some((n) => n.startsWith("img_emb."));
  const outChannels = need("head.head.weight")[0] / (pe[2] * pe[3] * pe[4]);
  return {
    modelType: i2v ? "i2v" : "t2v",
    patchSize: [pe[2], pe[3], pe[4]],
    textLen: 512,
    inDim: pe[1],
    dim,
    ffnDim: need("blocks.0.ffn.0.weight")[0],
    freqDim: need("time_embedding.0.weight")[1],
    textDim: need("text_embedding.0.weight")[1],
    outDim: outChannels,
    numHeads: dim / 128,
    numLayers: layers.size,
    eps: 1e-6,
    imageDim: i2v ? need("img_emb.proj.0.weight")[0] : null,
  };
}

function num(c: Json, key: string, fallback?: number): number {
  const v = c[key];
  if (typeof v === "number") return v;
  if (fallback !== undefined) return fallback;
  throw new Error(`config.json: missing numeric field "${key}"`);
}
