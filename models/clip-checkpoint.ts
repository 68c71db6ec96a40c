/**
 * Reading CLIP vision-tower checkpoints in either layout: the official Wan / open-clip names (`visual.*`,
 * the names models/clip.ts uses) or Hugging Face `CLIPVisionModelWithProjection` names (`vision_model.*`,
 * as Diffusers' `image_encoder/` and ComfyUI's clip_vision files hold them); and the configuration (HF
 * config.json, the official `VisionTransformer` / `clip_xlm_roberta_vit_h_14` arguments, or tensor shapes).
 *
 * The layouts differ in more than names (fixtures README, key_map_image_encoder.json):
 *   - official `attn.to_qkv` [3D, D] (and its bias) = HF `q_proj`, `k_proj`, `v_proj` stacked row-wise;
 *   - official `cls_embedding` [1, 1, D] / `pos_embedding` [1, T, D] = HF [D] / [T, D] (leading 1s);
 *   - official `head` [D, out] = HF `visual_projection.weight` [out, D] transposed.
 * HF checkpoints are read through derived initializers that build the official tensor on load (qkv fused:
 * one MatMul in the graph instead of three, and the graph reads like Wan's `clip.py`); the converse
 * (`clipTensorsToHF`) writes HF checkpoints, for the tiny model.
 */
import { convertFloats, type DType } from "./graph/dtype.ts";
import type { InitializerData } from "./graph/builder.ts";
import type { ClipVisionConfig } from "./clip.ts";
import type { TensorInfo } from "./weights/safetensors.ts";
import { WeightError, WeightStore, type WeightTransform, type Weights } from "./weights/store.ts";

/** How one official tensor is stored in an HF checkpoint. */
export type HFView =
  | { kind: "rename"; hf: string }
  /** The same values with `leading` fewer leading 1-dimensions. */
  | { kind: "squeeze"; hf: string; leading: number }
  /** The 2-D transpose. */
  | { kind: "transpose"; hf: string }
  /** Split row-wise into equal parts (q, k, v). */
  | { kind: "rows"; hf: string[] };

const LAYER = "vision_model.encoder.layers";

/** Official name → HF name, as ordered rules; the fused q/k/v and the reshaped tensors are handled in `clipHFView`. */
const OFFICIAL_TO_HF: [RegExp, string][] = [
  [/^visual\.patch_embedding\.weight$/, "vision_model.embeddings.patch_embedding.weight"],
  [/^visual\.pre_norm\./, "vision_model.pre_layrnorm."], // sic: HF's spelling
  [/^visual\.post_norm\./, "vision_model.post_layernorm."],
  [/^visual\.transformer\.(\d+)\.norm([12])\./, `${LAYER}.$1.layer_norm$2.`],
  [/^visual\.transformer\.(\d+)\.attn\.proj\./, `${LAYER}.$1.self_attn.out_proj.`],
  [/^visual\.transformer\.(\d+)\.mlp\.0\./, `${LAYER}.$1.mlp.fc1.`],
  [/^visual\.transformer\.(\d+)\.mlp\.2\./, `${LAYER}.$1.mlp.fc2.`],
];

const HF_TO_OFFICIAL: [RegExp, string][] = [
  [/^vision_model\.embeddings\.class_embedding$/, "visual.cls_embedding"],
  [/^vision_model\.embeddings\.position_embedding\.weight$/, "visual.pos_embedding"],
  [/^visual_projection\.weight$/, "visual.head"],
  [/^vision_model\.embeddings\.patch_embedding\.weight$/, "visual.patch_embedding.weight"],
  [/^vision_model\.pre_layrnorm\./, "visual.pre_norm."],
  [/^vision_model\.post_layernorm\./, "visual.post_norm."],
  [/^vision_model\.encoder\.layers\.(\d+)\.layer_norm([12])\./, "visual.transformer.$1.norm$2."],
  [/^vision_model\.encoder\.layers\.(\d+)\.self_attn\.out_proj\./, "visual.transformer.$1.attn.proj."],
  [/^vision_model\.encoder\.layers\.(\d+)\.mlp\.fc1\./, "visual.transformer.$1.mlp.0."],
  [/^vision_model\.encoder\.layers\.(\d+)\.mlp\.fc2\./, "visual.transformer.$1.mlp.2."],
];

const QKV_OFFICIAL = /^visual\.transformer\.(\d+)\.attn\.to_qkv\.(weight|bias)$/;
const QKV_HF = /^vision_model\.encoder\.layers\.(\d+)\.self_attn\.([qkv])_proj\.(weight|bias)$/;

/** Where an official tensor lives in an HF checkpoint, and in what form (names that match no rule pass through). */
export function clipHFView(official: string): HFView {
  const qkv = QKV_OFFICIAL.exec(official);
  if (qkv) return { kind: "rows", hf: ["q", "k", "v"].map((x) => `${LAYER}.${qkv[1]}.self_attn.${x}_proj.${qkv[2]}`) };
  if (official === "visual.cls_embedding") return { kind: "squeeze", hf: "vision_model.embeddings.class_embedding", leading: 2 };
  if (official === "visual.pos_embedding") return { kind: "squeeze", hf: "vision_model.embeddings.position_embedding.weight", leading: 1 };
  if (official === "visual.head") return { kind: "transpose", hf: "visual_projection.weight" };
  for (const [pattern, replacement] of OFFICIAL_TO_HF) {
    if (pattern.test(official)) return { kind: "rename", hf: official.replace(pattern, replacement) };
  }
  return { kind: "rename", hf: official };
}

/** Official name → HF name(s): three names, q/k/v, for a fused `to_qkv` tensor. */
export function clipKeyToHF(official: string): string | string[] {
  return clipHFView(official).hf;
}

/** HF name → the official tensor it belongs to; `part` is its row block (0 = q, 1 = k, 2 = v) in a fused `to_qkv`. */
export function clipKeyFromHF(hf: string): { key: string; part?: number } {
  const qkv = QKV_HF.exec(hf);
  if (qkv) return { key: `visual.transformer.${qkv[1]}.attn.to_qkv.${qkv[3]}`, part: "qkv".indexOf(qkv[2]) };
  for (const [pattern, replacement] of HF_TO_OFFICIAL) {
    if (pattern.test(hf)) return { key: hf.replace(pattern, replacement) };
  }
  return { key: hf };
}

/**
 * Tensors a CLIP checkpoint may carry besides the vision tower, which Wan never runs (official wan/modules/clip.py, CLIPModel.visual): the
 * official file's text tower and logit scale, an HF `CLIPModel`'s text model, projection and logit scale,
 * and the `position_ids` buffer older transformers versions saved.
 */
export function isClipTextOrBuffer(name: string): boolean {
  return (
    name.startsWith("textual.") ||
    name === "log_scale" ||
    name.startsWith("text_model.") ||
    name === "text_projection.weight" ||
    name === "logit_scale" ||
    name === "vision_model.embeddings.position_ids"
  );
}

export type ClipWeights = Weights & { assertAllUsed(): void; close(): Promise<void> };

/** Opens a CLIP vision checkpoint (one file or shards, either layout) under the official names. */
export async function openClipWeights(files: string[], layout: "official" | "diffusers"): Promise<ClipWeights> {
  const store = await WeightStore.open("image encoder", files, (k) => (isClipTextOrBuffer(k) ? undefined : k));
  if (store.has("visual.conv1.weight")) {
    await store.close();
    throw new WeightError(
      "image encoder: open_clip's own layout (visual.conv1, visual.transformer.resblocks.*) is not supported; " +
        "use Wan's (visual.patch_embedding, visual.transformer.N.attn.to_qkv) or the Hugging Face CLIPVisionModel layout",
    );
  }
  return layout === "official" ? store : new HFClipWeights(store);
}

/** The official tensors of an HF-layout store: renamed, reshaped, transposed or fused on the fly. */
class HFClipWeights implements Weights {
  readonly label: string;

  constructor(private readonly store: WeightStore) {
    this.label = store.label;
  }

  has(key: string): boolean {
    const view = clipHFView(key);
    return view.kind === "rows" ? view.hf.every((k) => this.store.has(k)) : this.store.has(view.hf);
  }

  keys(): string[] {
    return [...new Set(this.store.keys().map((k) => clipKeyFromHF(k).key))];
  }

  info(key: string, expectedShape?: number[]): TensorInfo {
    const view = clipHFView(key);
    const parts = this.partInfos(view, expectedShape);
    const first = parts[0];
    let shape: number[];
    if (view.kind === "rows") shape = [first.shape[0] * parts.length, ...first.shape.slice(1)];
    else if (view.kind === "squeeze") shape = [...new Array<number>(view.leading).fill(1), ...first.shape];
    else if (view.kind === "transpose") shape = [...first.shape].reverse();
    else shape = first.shape;
    return { ...first, name: key, shape };
  }

  initializer(key: string, expectedShape: number[] | undefined, t: WeightTransform): InitializerData {
    const view = clipHFView(key);
    if (view.kind === "rename") return this.store.initializer(view.hf, expectedShape, t);
    const shape = this.info(key, expectedShape).shape;
    // Asking the store for the parts now checks their shapes and counts them as used; bytes are read when saving.
    const parts = (view.kind === "rows" ? view.hf : [view.hf]).map((k, _, all) =>
      this.store.initializer(k, hfShape(view, shape, all.length), { to: "float32" }),
    );
    const count = shape.reduce((a, b) => a * b, 1);
    const stored = t.transpose ? [count / shape[0], shape[0]] : shape;
    const dims = t.dims ?? stored;
    if (dims.reduce((a, b) => a * b, 1) !== count) throw new Error(`${this.label}: ${key} cannot be viewed as [${dims}]`);
    return {
      dtype: t.to,
      dims,
      shared: true,
      async *chunks() {
        const values = fromHF(view, shape, await Promise.all(parts.map(readAll)));
        const out = t.transpose ? transpose2d(values, shape[0], count / shape[0]) : values;
        yield convertFloats(new Uint8Array(out.buffer, out.byteOffset, out.byteLength), "float32", t.to);
      },
    };
  }

  markUsed(key: string): void {
    const view = clipHFView(key);
    for (const k of view.kind === "rows" ? view.hf : [view.hf]) this.store.markUsed(k);
  }

  async float32(key: string, expectedShape?: number[]): Promise<Float32Array> {
    const view = clipHFView(key);
    const shape = this.info(key, expectedShape).shape;
    const names = view.kind === "rows" ? view.hf : [view.hf];
    const parts = await Promise.all(names.map((k) => this.store.float32(k, hfShape(view, shape, names.length))));
    return fromHF(view, shape, parts);
  }

  assertAllUsed(): void {
    this.store.assertAllUsed();
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private partInfos(view: HFView, expectedShape: number[] | undefined): TensorInfo[] {
    const names = view.kind === "rows" ? view.hf : [view.hf];
    const infos = names.map((k) => this.store.info(k, expectedShape && hfShape(view, expectedShape, names.length)));
    if (infos.some((i) => i.shape.join() !== infos[0].shape.join())) {
      throw new WeightError(`${this.label}: ${names.join(", ")} differ in shape ([${infos.map((i) => i.shape).join("], [")}])`);
    }
    return infos;
  }
}

/** The HF shape of one part of an official tensor of shape `official`. */
function hfShape(view: HFView, official: number[], parts: number): number[] {
  if (view.kind === "rows") return [official[0] / parts, ...official.slice(1)];
  if (view.kind === "squeeze") return official.slice(view.leading);
  if (view.kind === "transpose") return [...official].reverse();
  return official;
}

/** Official values from the HF parts. */
function fromHF(view: HFView, official: number[], parts: Float32Array[]): Float32Array {
  if (view.kind === "rows") {
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }
  if (view.kind === "transpose") return transpose2d(parts[0], official[1], official[0]);
  return parts[0];
}

export type HFTensor = { name: string; dtype: DType; shape: number[]; data: Float32Array };

/** An official tensor as the HF checkpoint stores it (three tensors for a fused q/k/v). */
export function clipTensorsToHF(official: string, shape: number[], values: Float32Array): HFTensor[] {
  const view = clipHFView(official);
  if (view.kind === "rows") {
    const size = values.length / view.hf.length;
    return view.hf.map((name, i) => ({
      name,
      dtype: "float32",
      shape: hfShape(view, shape, view.hf.length),
      data: values.slice(i * size, (i + 1) * size),
    }));
  }
  const data = view.kind === "transpose" ? transpose2d(values, shape[0], shape[1]) : values;
  return [{ name: view.hf, dtype: "float32", shape: hfShape(view, shape, 1), data }];
}

async function readAll(init: InitializerData): Promise<Float32Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of init.chunks()) chunks.push(c);
  const bytes = Buffer.concat(chunks);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** [rows, cols] → [cols, rows]. */
function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

// --- configuration --------------------------------------------------------------------------------

type Json = Record<string, unknown>;

/**
 * HF `CLIPVisionConfig` (config.json of a `CLIPVisionModel[WithProjection]`, or the `vision_config` of a
 * `CLIPModel`). transformers saves only the fields that differ from the class defaults, so those apply
 * (hidden_act's default is "quick_gelu", OpenAI's CLIP; Wan's ViT-H/14 says "gelu").
 */
export function clipConfigFromHF(config: Json): ClipVisionConfig {
  const c = (config.vision_config as Json | undefined) ?? config;
  const act = (c.hidden_act as string | undefined) ?? "quick_gelu";
  if (act !== "gelu") {
    throw new Error(`image encoder config.json: hidden_act "${act}" is not supported (Wan's ViT-H/14 uses "gelu", the exact erf form)`);
  }
  return {
    imageSize: num(c, "image_size", 224),
    patchSize: num(c, "patch_size", 32),
    dim: num(c, "hidden_size", 768),
    ffnDim: num(c, "intermediate_size", 3072),
    numHeads: num(c, "num_attention_heads", 12),
    numLayers: num(c, "num_hidden_layers", 12),
    eps: num(c, "layer_norm_eps", 1e-5),
    outDim: num(c, "projection_dim", 512),
  };
}

/**
 * The official arguments: Wan's `VisionTransformer(image_size, patch_size, dim, mlp_ratio, out_dim, num_heads,
 * num_layers, pool_type, pre_norm, post_norm, activation, norm_eps)`, or `clip_xlm_roberta_vit_h_14`'s
 * (`vision_dim`, `vision_heads`, …, which fix activation "gelu", a pre-norm and pre-LN blocks), either bare or
 * under those names (official_configs_image_encoder.json holds both).
 */
export function clipConfigFromOfficial(config: Json): ClipVisionConfig {
  const vt = (config.VisionTransformer as Json | undefined) ?? (typeof config.dim === "number" ? config : undefined);
  if (vt) {
    const wrong = (field: string, value: unknown, want: unknown) =>
      new Error(`VisionTransformer config: ${field} ${JSON.stringify(value)} is not supported (Wan's ViT-H/14 has ${JSON.stringify(want)})`);
    if ((vt.pool_type ?? "token") !== "token") throw wrong("pool_type", vt.pool_type, "token");
    if ((vt.pre_norm ?? true) !== true) throw wrong("pre_norm", vt.pre_norm, true);
    if ((vt.post_norm ?? false) !== false) throw wrong("post_norm", vt.post_norm, false);
    if ((vt.activation ?? "gelu") !== "gelu") throw wrong("activation", vt.activation, "gelu");
    const dim = num(vt, "dim");
    return {
      imageSize: num(vt, "image_size"),
      patchSize: num(vt, "patch_size"),
      dim,
      ffnDim: Math.trunc(dim * num(vt, "mlp_ratio")), // int(dim * mlp_ratio), as Wan's AttentionBlock
      numHeads: num(vt, "num_heads"),
      numLayers: num(vt, "num_layers"),
      eps: num(vt, "norm_eps", 1e-5),
      outDim: num(vt, "out_dim"),
    };
  }
  const kw = (config.clip_xlm_roberta_vit_h_14_kwargs as Json | undefined) ?? config;
  const dim = num(kw, "vision_dim");
  return {
    imageSize: num(kw, "image_size"),
    patchSize: num(kw, "patch_size"),
    dim,
    ffnDim: Math.trunc(dim * num(kw, "vision_mlp_ratio")),
    numHeads: num(kw, "vision_heads"),
    numLayers: num(kw, "vision_layers"),
    eps: 1e-5,
    outDim: num(kw, "embed_dim"),
  };
}

/**
 * Config from tensor shapes alone (official names), for a single file with no config: width and patch from
 * the patch embedding, image size from the position table, MLP width, layer count, projection width. Head
 * width is not stored anywhere; Wan's ViT-H/14 has 80-wide heads (1280 / 16), so the width must divide by 80.
 */
export function clipConfigFromShapes(shape: (name: string) => number[] | undefined, names: string[]): ClipVisionConfig {
  const need = (name: string) => {
    const s = shape(name);
    if (!s) throw new Error(`cannot infer the image encoder configuration: missing tensor ${name}`);
    return s;
  };
  const [dim, , patchSize] = need("visual.patch_embedding.weight");
  if (dim % 80 !== 0) {
    throw new Error(`cannot infer the head count: the image encoder is ${dim} wide, not a multiple of ViT-H/14's 80-wide heads (pass its config.json)`);
  }
  const tokens = need("visual.pos_embedding")[1];
  const grid = Math.round(Math.sqrt(tokens - 1));
  if (grid * grid !== tokens - 1) throw new Error(`cannot infer the image size: ${tokens} position embeddings is not a square grid plus a class token`);
  const layers = new Set(names.map((n) => /^visual\.transformer\.(\d+)\./.exec(n)?.[1]).filter((x) => x !== undefined));
  return {
    imageSize: grid * patchSize,
    patchSize,
    dim,
    ffnDim: need("visual.transformer.0.mlp.0.weight")[0],
    numHeads: dim / 80,
    numLayers: layers.size,
    eps: 1e-5,
    outDim: shape("visual.head")?.[1] ?? 1024, // without a head (HF CLIPVisionModel) it is never read: ViT-H/14's
  };
}

/** The configuration of opened weights: the given config (HF or official format), else the shapes. */
export function clipConfig(weights: Weights, config?: Json | null): ClipVisionConfig {
  if (config && ("hidden_size" in config || "vision_config" in config || config.model_type === "clip_vision_model")) {
    return clipConfigFromHF(config);
  }
  if (config && ("VisionTransformer" in config || "clip_xlm_roberta_vit_h_14_kwargs" in config || "vision_dim" in config || "mlp_ratio" in config)) {
    return clipConfigFromOfficial(config);
  }
  if (config) throw new Error("image encoder config: neither the Hugging Face CLIPVisionConfig (hidden_size) nor Wan's VisionTransformer (dim, mlp_ratio) format");
  return clipConfigFromShapes((k) => (weights.has(k) ? weights.info(k).shape : undefined), weights.keys());
}

/** The HF config.json of a configuration (what a `CLIPVisionModelWithProjection` saves), for the tiny model. */
export function clipConfigToHF(cfg: ClipVisionConfig): Record<string, unknown> {
  return {
    architectures: ["CLIPVisionModelWithProjection"],
    model_type: "clip_vision_model",
    hidden_size: cfg.dim,
    intermediate_size: cfg.ffnDim,
    projection_dim: cfg.outDim,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    num_channels: 3,
    image_size: cfg.imageSize,
    patch_size: cfg.patchSize,
    hidden_act: "gelu",
    layer_norm_eps: cfg.eps,
    attention_dropout: 0.0,
    dropout: 0.0,
    torch_dtype: "float32",
  };
}

function num(c: Json, key: string, fallback?: number): number {
  const v = c[key];
  if (typeof v === "number") return v;
  if (fallback !== undefined) return fallback;
  throw new Error(`image encoder config: missing numeric field "${key}"`);
}
