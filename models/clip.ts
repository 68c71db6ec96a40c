/**
 * The CLIP ViT vision tower Wan 2.1's image-to-video models condition on (open-clip XLM-RoBERTa-large
 * ViT-H/14, official wan/modules/clip.py, CLIPModel.visual), as an ONNX graph. Module paths are the official Wan names
 * (`visual.transformer.3.attn.to_qkv`, as in Wan's `clip.py`): the fused q/k/v projection stays one MatMul.
 * Hugging Face `CLIPVisionModelWithProjection` checkpoints (Diffusers' `image_encoder/`, ComfyUI's
 * clip_vision files) are renamed on load, their q/k/v fused (clip-checkpoint.ts).
 *
 * Graph input:
 *   pixels    [B, 3, S, S]        already preprocessed (bicubic resize, [0, 1], CLIP mean/std: lib/engine/clip.ts)
 * Output:
 *   clip_fea  [B, tokens, width]  the output after all blocks but the last (Wan's `use_31_block`), without the
 *                                 post-norm, class token first: 257 × 1280 for ViT-H/14 at 224 px (official wan/modules/clip.py, CLIPModel.visual)
 *
 * The last block, the post-norm and the projection head are in every checkpoint but Wan never runs them
 * (official wan/modules/clip.py, CLIPModel.visual); they are checked against the architecture and left out of the graph (see `checkUnusedWeights`).
 */
import { GraphBuilder } from "./graph/builder.ts";
import type { Tensor } from "./graph/tensor.ts";
import { conv, layerNormAffine, multiHeadAttention, Params } from "./nn.ts";

export type ClipVisionConfig = {
  /** Side of the square input, in pixels. */
  imageSize: number;
  patchSize: number;
  /** Transformer width. */
  dim: number;
  /** MLP hidden width (dim × mlp_ratio). */
  ffnDim: number;
  numHeads: number;
  numLayers: number;
  /** LayerNorm epsilon (pre-norm, block norms, post-norm). */
  eps: number;
  /** Width of the projection head (`visual.head` [dim, outDim]); Wan never applies it. */
  outDim: number;
};

/** ViT-H/14 as Wan 2.1 ships it (`clip_xlm_roberta_vit_h_14`, official wan/modules/clip.py, CLIPModel.visual): 632 M parameters in the vision tower. */
export const CLIP_VIT_H_14: ClipVisionConfig = {
  imageSize: 224,
  patchSize: 14,
  dim: 1280,
  ffnDim: 5120,
  numHeads: 16,
  numLayers: 32,
  eps: 1e-5,
  outDim: 1024,
};

/** Patches per side. */
export function clipGrid(cfg: ClipVisionConfig): number {
  return cfg.imageSize / cfg.patchSize;
}

/** Tokens of the output: one per patch plus the class token (257 for ViT-H/14 at 224 px). */
export function clipTokens(cfg: ClipVisionConfig): number {
  return clipGrid(cfg) ** 2 + 1;
}

export type ClipBuildOptions = {
  /**
   * Also output the intermediates the goldens hold: `patch_embed`, `embeddings`, `pre_norm_out`,
   * `block{i}_out` for every block that runs, and `all_blocks_out` (the last block too, which Wan never
   * runs, so that its weights can be checked against a reference). For tests and debugging.
   */
  intermediates?: boolean;
};

export function buildClipVision(g: GraphBuilder, p: Params, cfg: ClipVisionConfig, opts: ClipBuildOptions = {}): void {
  if (cfg.imageSize % cfg.patchSize !== 0) {
    throw new Error(`CLIP: image size ${cfg.imageSize} is not a multiple of the patch size ${cfg.patchSize}`);
  }
  if (cfg.dim % cfg.numHeads !== 0) throw new Error(`CLIP: width ${cfg.dim} is not divisible by ${cfg.numHeads} heads`);
  const S = cfg.imageSize;
  const T = clipTokens(cfg);
  const D = cfg.dim;
  const visual = p.sub("visual");
  const pixels = g.input("pixels", "float32", ["batch", 3, S, S]);
  const debug = (t: Tensor, name: string, dims: (number | string)[]) => {
    if (opts.intermediates) g.output(t, name, dims);
  };

  // Patch embedding: Conv2d(3 → D, kernel = stride = patch, no bias since the tower has a pre-norm), then the
  // [B, D, g, g] grid flattened row-major into tokens 1… (token 0 is the class token).
  const grid = clipGrid(cfg);
  const patches = g.scope("patch_embedding", () => {
    const weight = visual.sub("patch_embedding").tensor("weight", [D, 3, cfg.patchSize, cfg.patchSize]);
    return conv(pixels, weight, null, { strides: [cfg.patchSize, cfg.patchSize] });
  });
  debug(patches, "patch_embed", ["batch", D, grid, grid]);

  // [cls, patches] + position embedding, then the pre-norm (all in float32: Wan's LayerNorm runs in fp32).
  let x = g.scope("embeddings", () => {
    const tokens = patches.reshape([0, D, grid * grid]).transpose([0, 2, 1]); // [B, g², D]
    const cls = visual.tensor("cls_embedding", [1, 1, D]);
    const clsPerImage = g.op("Expand", [cls, g.shapeTensor([pixels.dim(0), 1, D])], undefined, { dtype: "float32", rank: 3 });
    return g.concat([clsPerImage, tokens], 1).add(visual.tensor("pos_embedding", [1, T, D]));
  });
  debug(x, "embeddings", ["batch", T, D]);
  x = g.scope("pre_norm", () => layerNormAffine(visual.sub("pre_norm"), x, D, cfg.eps));
  debug(x, "pre_norm_out", ["batch", T, D]);

  // Every block but the last (use_31_block, official wan/modules/clip.py, CLIPModel.visual).
  const blocks = visual.sub("transformer");
  for (let i = 0; i < cfg.numLayers - 1; i++) {
    x = g.scope(`transformer.${i}`, () => attentionBlock(blocks.sub(i), x, cfg));
    debug(x, `block${i}_out`, ["batch", T, D]);
  }
  g.output(x, "clip_fea", ["batch", T, D]);

  const last = cfg.numLayers - 1;
  if (opts.intermediates) {
    const all = g.scope(`transformer.${last}`, () => attentionBlock(blocks.sub(last), x, cfg));
    g.output(all, "all_blocks_out", ["batch", T, D]);
    checkUnusedWeights(p, cfg, { lastBlock: false });
  } else {
    checkUnusedWeights(p, cfg, { lastBlock: true });
  }
}

/**
 * Pre-LN block (Wan's `AttentionBlock` with post_norm false): x + proj(attn(norm1(x))), then
 * x + fc2(GELU(fc1(norm2(x)))). Linears and attention run in float16 in fp16 graphs; norms and the residual
 * stream stay float32, as Wan's fp32 LayerNorm does.
 */
function attentionBlock(p: Params, x: Tensor, cfg: ClipVisionConfig): Tensor {
  const D = cfg.dim;
  const h1 = layerNormAffine(p.sub("norm1"), x, D, cfg.eps);
  x = x.add(p.g.scope("attn", () => selfAttention(p.sub("attn"), h1, cfg)));
  const h2 = layerNormAffine(p.sub("norm2"), x, D, cfg.eps);
  return x.add(p.g.scope("mlp", () => mlp(p.sub("mlp"), h2, cfg)));
}

/**
 * One fused projection to [q | k | v] (rows 0…D−1 of `to_qkv` are q over all heads, then k, then v: Wan's
 * `view(b, s, 3, n, d)`), unmasked softmax attention with scale 1/√head_dim, output projection.
 */
function selfAttention(p: Params, x: Tensor, cfg: ClipVisionConfig): Tensor {
  const D = cfg.dim;
  const qkv = p.sub("to_qkv").linear(x, D, 3 * D, { half: true, out: p.halfDtype });
  const [q, k, v] = qkv.split([D, D, D], 2);
  const y = multiHeadAttention(q, k, v, cfg.numHeads);
  return p.sub("proj").linear(y, D, D, { half: true });
}

/** Linear → GELU (exact erf form: open-clip ViT-H builds `nn.GELU()`, HF config hidden_act "gelu") → Linear. */
function mlp(p: Params, x: Tensor, cfg: ClipVisionConfig): Tensor {
  const h = p.sub(0).linear(x, cfg.dim, cfg.ffnDim, { half: true, out: p.halfDtype }).gelu("none");
  return p.sub(2).linear(h, cfg.ffnDim, cfg.dim, { half: true });
}

/**
 * The tensors a CLIP vision checkpoint holds that Wan never computes with: the last block (unless the graph
 * ran it), the post-norm and the projection head (absent from HF `CLIPVisionModel` files, so optional). They
 * are built into a scratch graph that is never saved, through the same code that would run them, so a
 * checkpoint store checks their shapes and counts them as used (any other stray tensor is still reported),
 * and the tiny-model generator's recorder writes them, making its checkpoints complete.
 */
function checkUnusedWeights(p: Params, cfg: ClipVisionConfig, o: { lastBlock: boolean }): void {
  const scratch = new GraphBuilder("clip_unused");
  const visual = new Params(scratch, p.store, p.path, p.precision).sub("visual");
  const x = scratch.input("x", "float32", ["batch", clipTokens(cfg), cfg.dim]);
  if (o.lastBlock) attentionBlock(visual.sub("transformer").sub(cfg.numLayers - 1), x, cfg);
  layerNormAffine(visual.sub("post_norm"), x, cfg.dim, cfg.eps);
  if (visual.has("head")) visual.tensor("head", [cfg.dim, cfg.outDim]);
}
