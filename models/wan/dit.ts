/**
 * The Wan 2.1 diffusion transformer (official `WanModel`), as an ONNX graph. Official wan/modules/model.py, WanModel.forward (forward pass,
 * step by step), official wan/modules/model.py, rope_apply and rope_params (RoPE); docs/model-notes.md#numerics (precision). Module paths are the official checkpoint names, so
 * `blocks.3.self_attn.q` is where you expect it; Diffusers checkpoints are renamed on load (dit-checkpoint.ts).
 *
 * Graph inputs (B = batch; the engine batches the conditional and unconditional passes of CFG):
 *   x            [B, in_dim, F, H, W]   latent (image-to-video: noisy 16 + mask 4 + image latent 16 channels)
 *   t_sinusoid   [B, freq_dim]          timestep sinusoid, computed in float64 outside (rope.ts)
 *   context      [B, text_len, text_dim] umT5 output zero-padded to text_len (padded rows are attended, official wan/modules/model.py, WanSelfAttention.forward and the cross-attention classes)
 *   rope_cos/sin [L, head_dim/2]        3-D RoPE tables for the L = F'·H'·W' tokens (rope.ts)
 *   clip_fea     [B, clip_tokens, image_dim]  image-to-video only: CLIP features (257 × 1280 for Wan's ViT-H/14,
 *                                       official wan/modules/model.py, MLPProj; symbolic, so smaller CLIPs such as the tiny model's 17 tokens work)
 * Output:
 *   out          [B, out_dim, F, H, W]  flow velocity, float32
 *
 * The same forward is also written as three stage graphs sharing the weights file, cut at the token stream:
 * embedding (x, t_sinusoid, context, clip_fea → tokens [B, L, D], e [B, D], e0 [B, 6, D], context_embedded
 * [B, text_len, D], image_context), blocks (tokens, e0, context_embedded, image_context, rope → tokens_out) and
 * head (tokens, e, grid = [F', H', W'] int64 → out). Step caching runs the blocks only on the steps it computes.
 */
import type { GraphBuilder } from "../graph/builder.ts";
import type { Dim, Tensor } from "../graph/tensor.ts";
import { layerNormAffine, layerNormPlain, multiHeadAttention, rmsNorm, type Params } from "../nn.ts";

export type WanDiTConfig = {
  modelType: "t2v" | "i2v";
  patchSize: [number, number, number];
  textLen: number;
  inDim: number;
  dim: number;
  ffnDim: number;
  freqDim: number;
  textDim: number;
  outDim: number;
  numHeads: number;
  numLayers: number;
  eps: number;
  /** Width of the CLIP features the image projector takes (i2v only). */
  imageDim: number | null;
};

/** CLIP tokens of Wan's ViT-H/14 at 224 px: 16 × 16 patches + the class token (official wan/modules/clip.py, CLIPModel.visual). The graph's dimension is symbolic. */
export const CLIP_TOKENS = 257;

export function headDim(cfg: WanDiTConfig): number {
  return cfg.dim / cfg.numHeads;
}

/** Everything the blocks need besides their own weights. */
type Conditioning = {
  /** e0 = time_projection(SiLU(e)) as [B, 6, D]; each block adds its modulation table. */
  e0: Tensor;
  context: Tensor;
  /** Projected CLIP tokens [B, clip_tokens, D] (i2v). */
  imageContext: Tensor | null;
  ropeCos: Tensor;
  ropeSin: Tensor;
};

/** The embedded inputs (official wan/modules/model.py, WanModel.forward): what the blocks and the head start from. */
type Embeddings = {
  /** Patch tokens [B, L, D], frame-major. */
  tokens: Tensor;
  /** Time embedding e [B, D] (the head's modulation). */
  e: Tensor;
  e0: Tensor;
  context: Tensor;
  imageContext: Tensor | null;
};

/** Patch-grid sizes F', H', W' as int64 [1] tensors. */
type Grid = [Tensor, Tensor, Tensor];

/**
 * The whole forward pass (official wan/modules/model.py, WanModel.forward): embeddings, the blocks, the head.
 * The three stage graphs below are the same forward cut at the token stream, so that step caching
 * (lib/engine/step-cache.ts) can skip the blocks and still run the cheap embedding and head.
 */
export function buildWanDiT(g: GraphBuilder, p: Params, cfg: WanDiTConfig): void {
  const x = g.input("x", "float32", ["batch", cfg.inDim, "frames", "height", "width"]);
  const rope = ropeInputs(g, cfg);
  const grid = patchGrid(g, cfg, x);
  const embedded = embed(g, p, cfg, x, grid, embeddingInputs(g, cfg));
  const { e0, context, imageContext } = embedded;
  const tokens = blocks(g, p, cfg, embedded.tokens, { e0, context, imageContext, ...rope });
  g.output(headAndUnpatchify(g, p, cfg, tokens, embedded.e, grid), "out", outDims(cfg));
}

/** Stage 1 of 3: the embeddings (official wan/modules/model.py, WanModel.forward) → tokens, e, e0, context, image_context (i2v). */
export function buildWanDiTEmbedding(g: GraphBuilder, p: Params, cfg: WanDiTConfig): void {
  const x = g.input("x", "float32", ["batch", cfg.inDim, "frames", "height", "width"]);
  const embedded = embed(g, p, cfg, x, patchGrid(g, cfg, x), embeddingInputs(g, cfg));
  const D = cfg.dim;
  g.output(embedded.tokens, "tokens", ["batch", "tokens", D]);
  g.output(embedded.e, "e", ["batch", D]);
  g.output(embedded.e0, "e0", ["batch", 6, D]);
  g.output(embedded.context, "context_embedded", ["batch", "text_len", D]);
  if (embedded.imageContext) g.output(embedded.imageContext, "image_context", ["batch", "clip_tokens", D]);
}

/** Stage 2 of 3: the attention blocks (official wan/modules/model.py, WanModel.forward): tokens → tokens_out. */
export function buildWanDiTBlocks(g: GraphBuilder, p: Params, cfg: WanDiTConfig): void {
  const D = cfg.dim;
  const tokens = g.input("tokens", "float32", ["batch", "tokens", D]);
  const e0 = g.input("e0", "float32", ["batch", 6, D]);
  const context = g.input("context_embedded", "float32", ["batch", "text_len", D]);
  const imageContext = cfg.modelType === "i2v" ? g.input("image_context", "float32", ["batch", "clip_tokens", D]) : null;
  const rope = ropeInputs(g, cfg);
  g.output(blocks(g, p, cfg, tokens, { e0, context, imageContext, ...rope }), "tokens_out", ["batch", "tokens", D]);
}

/** Stage 3 of 3: the head and unpatchify (official wan/modules/model.py, Head.forward and WanModel.unpatchify): tokens, e and the patch grid [F', H', W'] → out. */
export function buildWanDiTHead(g: GraphBuilder, p: Params, cfg: WanDiTConfig): void {
  const tokens = g.input("tokens", "float32", ["batch", "tokens", cfg.dim]);
  const e = g.input("e", "float32", ["batch", cfg.dim]);
  const grid = g.input("grid", "int64", [3]);
  const [gridF, gridH, gridW] = [0, 1, 2].map((i) => grid.slice([i], [i + 1], [0]));
  g.output(headAndUnpatchify(g, p, cfg, tokens, e, [gridF, gridH, gridW]), "out", outDims(cfg));
}

function embeddingInputs(g: GraphBuilder, cfg: WanDiTConfig) {
  return {
    tSinusoid: g.input("t_sinusoid", "float32", ["batch", cfg.freqDim]),
    context: g.input("context", "float32", ["batch", "text_len", cfg.textDim]),
    clipFea: cfg.modelType === "i2v" ? g.input("clip_fea", "float32", ["batch", "clip_tokens", cfg.imageDim!]) : null,
  };
}

function ropeInputs(g: GraphBuilder, cfg: WanDiTConfig) {
  return {
    ropeCos: g.input("rope_cos", "float32", ["tokens", headDim(cfg) / 2]),
    ropeSin: g.input("rope_sin", "float32", ["tokens", headDim(cfg) / 2]),
  };
}

function outDims(cfg: WanDiTConfig): Dim[] {
  return ["batch", cfg.outDim, "frames", "height", "width"];
}

/** Patch grid sizes at run time: F' = F/pt, H' = H/ph, W' = W/pw. */
function patchGrid(g: GraphBuilder, cfg: WanDiTConfig, x: Tensor): Grid {
  const [pt, ph, pw] = cfg.patchSize;
  return [x.dim(2).div(g.int64s([pt])), x.dim(3).div(g.int64s([ph])), x.dim(4).div(g.int64s([pw]))];
}

/** Official wan/modules/model.py, WanModel.forward: patch, time, text and (i2v) image embeddings. */
function embed(
  g: GraphBuilder,
  p: Params,
  cfg: WanDiTConfig,
  x: Tensor,
  grid: Grid,
  inputs: { tSinusoid: Tensor; context: Tensor; clipFea: Tensor | null },
): Embeddings {
  const D = cfg.dim;
  // Official wan/modules/model.py, WanModel.forward (patch_embedding): patch embedding, frame-major tokens [B, L, D].
  const tokens = g.scope("patch_embedding", () => patchEmbedding(p.sub("patch_embedding"), x, cfg, grid));

  // Official wan/modules/model.py, WanModel.forward (time_embedding, time_projection): time MLP e and the shared projection e0 (fp32, as in the official code).
  const e = g.scope("time_embedding", () => {
    const te = p.sub("time_embedding");
    const h = te.sub(0).linear(inputs.tSinusoid, cfg.freqDim, D).silu();
    return te.sub(2).linear(h, D, D);
  });
  const e0 = g.scope("time_projection", () => p.sub("time_projection").sub(1).linear(e.silu(), D, 6 * D).reshape([0, 6, D]));

  // Official wan/modules/model.py, WanModel.forward (text_embedding of the zero-padded context): text embedding on the zero-padded context.
  const context = g.scope("text_embedding", () => {
    const tp = p.sub("text_embedding");
    const h = tp.sub(0).linear(inputs.context, cfg.textDim, D, { half: true, out: tp.halfDtype }).gelu("tanh");
    return tp.sub(2).linear(h, D, D, { half: true });
  });

  // Official wan/modules/model.py, MLPProj: CLIP image tokens through the image projector (i2v).
  const clipFea = inputs.clipFea;
  const imageContext = clipFea ? g.scope("img_emb", () => imageProjector(p.sub("img_emb").sub("proj"), clipFea, cfg)) : null;
  return { tokens, e, e0, context, imageContext };
}

/** Official wan/modules/model.py, WanModel.forward: the attention blocks, one after another. */
function blocks(g: GraphBuilder, p: Params, cfg: WanDiTConfig, tokens: Tensor, cond: Conditioning): Tensor {
  for (let i = 0; i < cfg.numLayers; i++) {
    tokens = g.scope(`blocks.${i}`, () => attentionBlock(p.sub("blocks").sub(i), tokens, cond, cfg));
  }
  return tokens;
}

/** Official wan/modules/model.py, Head.forward and WanModel.unpatchify: head and unpatchify. */
function headAndUnpatchify(g: GraphBuilder, p: Params, cfg: WanDiTConfig, tokens: Tensor, e: Tensor, grid: Grid): Tensor {
  const out = g.scope("head", () => head(p.sub("head"), tokens, e, cfg));
  return g.scope("unpatchify", () => unpatchify(out, cfg, ...grid));
}

/**
 * Conv3d with kernel = stride = patch size is a Linear on each flattened patch, in the conv weight's
 * (c, kt, kh, kw) order — done as reshape/transpose + MatMul, which every execution provider runs fast.
 */
function patchEmbedding(p: Params, x: Tensor, cfg: WanDiTConfig, [gridF, gridH, gridW]: Grid): Tensor {
  const [pt, ph, pw] = cfg.patchSize;
  const C = cfg.inDim;
  const patch = C * pt * ph * pw;
  const patches = x
    .reshape([0, C, gridF, pt, gridH, ph, gridW, pw])
    .transpose([0, 2, 4, 6, 1, 3, 5, 7]) // [B, F', H', W', C, pt, ph, pw]
    .reshape([0, -1, patch]);
  const dtype = p.precision === "fp16" ? "float16" : "float32";
  const weight = p.g.initializer(
    `patch_embedding.weight:${dtype}[${patch}x${cfg.dim}]`,
    p.store.initializer(p.key("weight"), [cfg.dim, C, pt, ph, pw], { to: dtype, transpose: true }),
  );
  const y = patches.cast(dtype).matmul(weight).add(p.tensor("bias", [cfg.dim], { dtype }));
  return y.cast("float32");
}

/** One `WanAttentionBlock` (official wan/modules/model.py, WanAttentionBlock.forward). */
function attentionBlock(p: Params, x: Tensor, cond: Conditioning, cfg: WanDiTConfig): Tensor {
  const D = cfg.dim;
  // m = modulation + e0, six [B, 1, D] vectors: shift/scale/gate for self-attention, then for the FFN.
  const m = p.tensor("modulation", [1, 6, D]).add(cond.e0);
  const [shiftSa, scaleSa, gateSa, shiftFf, scaleFf, gateFf] = m.split([1, 1, 1, 1, 1, 1], 1);

  const hSa = modulate(layerNormPlain(x, D, cfg.eps), shiftSa, scaleSa);
  const ySa = p.g.scope("self_attn", () => selfAttention(p.sub("self_attn"), hSa, cond, cfg));
  x = x.add(ySa.mul(gateSa));

  // Cross-attention: affine LayerNorm (norm3), no modulation and no gate.
  const hCa = layerNormAffine(p.sub("norm3"), x, D, cfg.eps);
  x = x.add(p.g.scope("cross_attn", () => crossAttention(p.sub("cross_attn"), hCa, cond, cfg)));

  const hFf = modulate(layerNormPlain(x, D, cfg.eps), shiftFf, scaleFf);
  const yFf = p.g.scope("ffn", () => feedForward(p.sub("ffn"), hFf, cfg));
  return x.add(yFf.mul(gateFf));
}

/** x·(1 + scale) + shift */
function modulate(x: Tensor, shift: Tensor, scale: Tensor): Tensor {
  return x.mul(scale.add(1)).add(shift);
}

/** q/k RMSNorm over all heads, 3-D RoPE on q and k, global attention (official wan/modules/model.py, WanSelfAttention.forward and the cross-attention classes). */
function selfAttention(p: Params, x: Tensor, cond: Conditioning, cfg: WanDiTConfig): Tensor {
  const D = cfg.dim;
  const at = p.halfDtype;
  const q = rmsNorm(p.sub("norm_q"), p.sub("q").linear(x, D, D, { half: true }), D, cfg.eps);
  const k = rmsNorm(p.sub("norm_k"), p.sub("k").linear(x, D, D, { half: true }), D, cfg.eps);
  const v = p.sub("v").linear(x, D, D, { half: true, out: at });
  const qr = applyRope(q, cond.ropeCos, cond.ropeSin, cfg).cast(at);
  const kr = applyRope(k, cond.ropeCos, cond.ropeSin, cfg).cast(at);
  const y = multiHeadAttention(qr, kr, v, cfg.numHeads);
  return p.sub("o").linear(y, D, D, { half: true });
}

/**
 * Interleaved-pair rotation (official wan/modules/model.py, rope_apply and rope_params): for pair j = (x[2j], x[2j+1]),
 * out[2j] = x[2j]·cos − x[2j+1]·sin, out[2j+1] = x[2j]·sin + x[2j+1]·cos.
 */
function applyRope(x: Tensor, cos: Tensor, sin: Tensor, cfg: WanDiTConfig): Tensor {
  const d = headDim(cfg);
  const pairs = x.reshape([0, 0, cfg.numHeads, d / 2, 2]);
  const [even, odd] = pairs.split([1, 1], 4).map((t) => t.squeeze([4])); // [B, L, N, d/2]
  const c = cos.unsqueeze([1]); // [L, 1, d/2] broadcasts over batch and heads
  const s = sin.unsqueeze([1]);
  const outEven = even.mul(c).sub(odd.mul(s)).unsqueeze([4]);
  const outOdd = even.mul(s).add(odd.mul(c)).unsqueeze([4]);
  return x.g.concat([outEven, outOdd], 4).reshape([0, 0, cfg.dim]);
}

/**
 * Text cross-attention; for image-to-video also the image branch with its own keys/values, whose output is
 * added before the output projection (official wan/modules/model.py, WanSelfAttention.forward and the cross-attention classes).
 */
function crossAttention(p: Params, x: Tensor, cond: Conditioning, cfg: WanDiTConfig): Tensor {
  const D = cfg.dim;
  const at = p.halfDtype;
  const q = rmsNorm(p.sub("norm_q"), p.sub("q").linear(x, D, D, { half: true }), D, cfg.eps).cast(at);
  const k = rmsNorm(p.sub("norm_k"), p.sub("k").linear(cond.context, D, D, { half: true }), D, cfg.eps).cast(at);
  const v = p.sub("v").linear(cond.context, D, D, { half: true, out: at });
  let y = multiHeadAttention(q, k, v, cfg.numHeads);
  if (cond.imageContext) {
    const kImg = rmsNorm(p.sub("norm_k_img"), p.sub("k_img").linear(cond.imageContext, D, D, { half: true }), D, cfg.eps);
    const vImg = p.sub("v_img").linear(cond.imageContext, D, D, { half: true, out: at });
    y = y.add(multiHeadAttention(q, kImg.cast(at), vImg, cfg.numHeads));
  }
  return p.sub("o").linear(y, D, D, { half: true });
}

/** Linear → GELU (tanh approximation) → Linear. */
function feedForward(p: Params, x: Tensor, cfg: WanDiTConfig): Tensor {
  const h = p.sub(0).linear(x, cfg.dim, cfg.ffnDim, { half: true, out: p.halfDtype }).gelu("tanh");
  return p.sub(2).linear(h, cfg.ffnDim, cfg.dim, { half: true });
}

/** `img_emb.proj`: LayerNorm(1280) → Linear → GELU (erf) → Linear → LayerNorm(D), LayerNorm eps 1e-5 (official wan/modules/model.py, MLPProj). */
function imageProjector(p: Params, clip: Tensor, cfg: WanDiTConfig): Tensor {
  const C = cfg.imageDim!;
  const h0 = layerNormAffine(p.sub(0), clip, C, 1e-5);
  const h1 = p.sub(1).linear(h0, C, C, { half: true, out: p.halfDtype }).gelu("none");
  const h3 = p.sub(3).linear(h1, C, cfg.dim, { half: true });
  return layerNormAffine(p.sub(4), h3, cfg.dim, 1e-5);
}

/** Head: (shift, scale) = head.modulation + e (not e0), then LN, modulate, Linear — all fp32 (official wan/modules/model.py, Head.forward). */
function head(p: Params, x: Tensor, e: Tensor, cfg: WanDiTConfig): Tensor {
  const D = cfg.dim;
  const [pt, ph, pw] = cfg.patchSize;
  const m = p.tensor("modulation", [1, 2, D]).add(e.unsqueeze([1])); // [B, 2, D]
  const [shift, scale] = m.split([1, 1], 1);
  const h = modulate(layerNormPlain(x, D, cfg.eps), shift, scale);
  return p.sub("head").linear(h, D, pt * ph * pw * cfg.outDim);
}

/** [B, L, pt·ph·pw·C] with C fastest → [B, C, F'·pt, H'·ph, W'·pw] (official wan/modules/model.py, WanModel.unpatchify). */
function unpatchify(x: Tensor, cfg: WanDiTConfig, gridF: Tensor, gridH: Tensor, gridW: Tensor): Tensor {
  const [pt, ph, pw] = cfg.patchSize;
  const C = cfg.outDim;
  const g = x.g;
  return x
    .reshape([0, gridF, gridH, gridW, pt, ph, pw, C])
    .transpose([0, 7, 1, 4, 2, 5, 3, 6]) // [B, C, F', pt, H', ph, W', pw]
    .reshape([0, C, gridF.mul(g.int64s([pt])), gridH.mul(g.int64s([ph])), gridW.mul(g.int64s([pw]))]);
}
