/**
 * The umT5 text encoder (encoder stack only) that Wan 2.1 conditions on, as an ONNX graph. Official wan/modules/t5.py, T5Encoder
 * (configuration, forward pass), docs/model-notes.md#prompt-handling (prompt handling), docs/model-notes.md#numerics (no 1/√d scaling). Module paths are
 * the Hugging Face names (`encoder.block.3.layer.0.SelfAttention.q`), the names Diffusers and ComfyUI
 * files use; official `.pth`-style names are renamed on load (umt5-checkpoint.ts, docs/model-notes.md#checkpoint-layouts).
 *
 * Graph inputs:
 *   input_ids    [B, L] int64   token ids of the real tokens only (docs/model-notes.md#prompt-handling: no padding,
 *                               so no attention mask — the rows equal those of the padded, masked run)
 *   rel_buckets  [L, L] int64   relative-position bucket of (query i, key j), computed outside the graph
 *                               (lib/engine/text-encoder.ts `relativePositionBuckets`), shared by all layers
 * Output:
 *   hidden       [B, L, d_model] float32, after the final RMSNorm
 *
 * fp16 graphs pay off on CUDA. ONNX Runtime's CPU provider (1.30, x86-64) has no float16 MatMul or
 * MultiHeadAttention kernel: it wraps them in Casts and, at session creation, its
 * FuseFp16InitializerToFp32NodeTransformer stores a float32 copy of every float16 weight (not
 * ConstantFolding; disabling that changes nothing). On CPU an fp16 graph therefore computes in float32
 * with fp16-rounded weights and holds 4 bytes per Linear parameter (only the Gather'd token table stays
 * float16) — for umT5-XXL ≈ 18.5 GB + 2.1 GB, not the 11.4 GB of the file.
 */
import type { GraphBuilder } from "./graph/builder.ts";
import type { Tensor } from "./graph/tensor.ts";
import { multiHeadAttention, rmsNorm, type Params } from "./nn.ts";

export type UMT5Config = {
  vocab: number;
  dModel: number;
  /** Width of one attention head; the attention width is numHeads·dKv (equal to dModel in umT5-XXL). */
  dKv: number;
  numHeads: number;
  dFf: number;
  numLayers: number;
  /** Relative-position buckets (both directions together) and the distance where the last bucket starts. */
  numBuckets: number;
  maxDistance: number;
  eps: number;
};

/** umT5-XXL as Wan 2.1 ships it (official wan/modules/t5.py, T5Encoder): 5.68 B parameters. */
export const UMT5_XXL: UMT5Config = {
  vocab: 256_384,
  dModel: 4096,
  dKv: 64,
  numHeads: 64,
  dFf: 10_240,
  numLayers: 24,
  numBuckets: 32,
  maxDistance: 128,
  eps: 1e-6,
};

export function attentionWidth(cfg: UMT5Config): number {
  return cfg.numHeads * cfg.dKv;
}

export function buildUMT5Encoder(g: GraphBuilder, p: Params, cfg: UMT5Config): void {
  const ids = g.input("input_ids", "int64", ["batch", "tokens"]);
  const buckets = g.input("rel_buckets", "int64", ["tokens", "tokens"]);

  // Token embedding, no scaling (official wan/modules/t5.py, T5Encoder). In fp16 and int8 graphs the 256k-row table is stored in float16 and
  // only the gathered rows are widened: the residual stream is float32.
  const table = p.sub("shared").tensor("weight", [cfg.vocab, cfg.dModel], { dtype: p.precision === "fp32" ? "float32" : "float16" });
  let x = g.scope("embed", () => table.gather(ids).cast("float32"));

  const encoder = p.sub("encoder");
  for (let i = 0; i < cfg.numLayers; i++) {
    x = g.scope(`block.${i}`, () => encoderBlock(encoder.sub("block").sub(i), x, buckets, cfg));
  }
  const hidden = g.scope("final_layer_norm", () => rmsNorm(encoder.sub("final_layer_norm"), x, cfg.dModel, cfg.eps));
  g.output(hidden, "hidden", ["batch", "tokens", cfg.dModel]);
}

/** Pre-norm residual block (official wan/modules/t5.py, T5Encoder): x ← x + Attn(RMSNorm₁(x)); x ← x + FF(RMSNorm₂(x)). */
function encoderBlock(p: Params, x: Tensor, buckets: Tensor, cfg: UMT5Config): Tensor {
  const attn = p.sub("layer").sub(0);
  const h1 = rmsNorm(attn.sub("layer_norm"), x, cfg.dModel, cfg.eps);
  x = x.add(p.g.scope("attn", () => selfAttention(attn.sub("SelfAttention"), h1, buckets, cfg)));

  const ff = p.sub("layer").sub(1);
  const h2 = rmsNorm(ff.sub("layer_norm"), x, cfg.dModel, cfg.eps);
  return x.add(p.g.scope("ff", () => gatedFeedForward(ff.sub("DenseReluDense"), h2, cfg)));
}

/**
 * Self-attention with this layer's own relative-position bias (umT5 has one table per layer, official wan/modules/t5.py, T5Encoder):
 * logits = q·kᵀ + table[bucket(i, j), head], with no 1/√d scaling (docs/model-notes.md#numerics), so scale = 1.
 */
function selfAttention(p: Params, x: Tensor, buckets: Tensor, cfg: UMT5Config): Tensor {
  const D = cfg.dModel;
  const A = attentionWidth(cfg);
  const at = p.halfDtype;
  const q = p.sub("q").linear(x, D, A, { bias: false, half: true, out: at });
  const k = p.sub("k").linear(x, D, A, { bias: false, half: true, out: at });
  const v = p.sub("v").linear(x, D, A, { bias: false, half: true, out: at });
  const bias = positionBias(p.sub("relative_attention_bias"), buckets, cfg).cast(at);
  const y = multiHeadAttention(q, k, v, cfg.numHeads, 1.0, bias);
  return p.sub("o").linear(y, A, D, { bias: false, half: true });
}

/** table [buckets, heads] gathered by bucket [L, L] → [L, L, N] → the attention bias [1, N, L, L]. */
function positionBias(p: Params, buckets: Tensor, cfg: UMT5Config): Tensor {
  const table = p.tensor("weight", [cfg.numBuckets, cfg.numHeads]);
  return table.gather(buckets).transpose([2, 0, 1]).unsqueeze([0]);
}

/**
 * Gated GELU (official wan/modules/t5.py, T5Encoder): FF(x) = W_o[(W_i1 x) ⊙ GELU_tanh(W_i0 x)], no biases. The matmuls run in the half
 * type; the GELU and the product are taken in float32 (and the residual stream stays float32), because
 * bf16-trained T5 activations can outgrow float16 — the official code clamps the residual on inf in fp16
 * mode (docs/model-notes.md#checkpoint-layouts), which a float32 residual makes unnecessary.
 */
function gatedFeedForward(p: Params, x: Tensor, cfg: UMT5Config): Tensor {
  const D = cfg.dModel;
  const gate = p.sub("wi_0").linear(x, D, cfg.dFf, { bias: false, half: true }).gelu("tanh");
  const lin = p.sub("wi_1").linear(x, D, cfg.dFf, { bias: false, half: true });
  return p.sub("wo").linear(lin.mul(gate), cfg.dFf, D, { bias: false, half: true });
}
