/**
 * Building blocks shared by the model definitions, written like PyTorch modules: a `Params` object is a
 * module path into the checkpoint ("blocks.3.self_attn"), so `p.sub("q").linear(x)` reads the weights
 * `blocks.3.self_attn.q.weight` / `.bias`. The precision policy lives here too: which layers run in
 * half precision and where values are cast (docs/model-notes.md#numerics).
 */
import type { GraphBuilder } from "./graph/builder.ts";
import { float } from "./graph/attributes.ts";
import type { DType } from "./graph/dtype.ts";
import type { Tensor } from "./graph/tensor.ts";
import { QUANT_BITS, QUANT_BLOCK } from "./weights/quantize.ts";
import { quantizedInitializers, type Weights } from "./weights/store.ts";

/**
 * - `fp32`: everything in float32 (CPU default, and the parity reference).
 * - `fp16`: matmul weights stored in float16 and matmuls/attention run in float16; norms, modulation,
 *   the residual stream, time embedding and output head stay in float32, as the official code keeps them.
 * - `int8`: the same layers' weights block-quantized to 8 bits (com.microsoft.MatMulNBits, weight-only;
 *   activations stay float32): a quarter of fp32's memory, for running big encoders on the CPU.
 * - `int8-compute`: the same 8-bit weights, and the matmuls computed in int8 too: MatMulNBits with
 *   accuracy_level 4 quantizes each block of the activations to int8 and accumulates in int32, which ONNX
 *   Runtime's CPU kernels run with VNNI / AVX-512 dot-product instructions (and AVX2 elsewhere). Faster than
 *   `int8`, at the cost of the activations' rounding on top of the weights' (bench/run.ts `dit-int8`).
 */
export const PRECISIONS = ["fp32", "fp16", "int8", "int8-compute"] as const;
export type Precision = (typeof PRECISIONS)[number];

/** MatMulNBits `accuracy_level`: 0 = float32 compute of the dequantized weights, 4 = int8 compute. */
const INT8_COMPUTE_ACCURACY_LEVEL = 4;

export class Params {
  constructor(
    readonly g: GraphBuilder,
    readonly store: Weights,
    readonly path: string,
    readonly precision: Precision,
  ) {}

  /** The sub-module `name` ("blocks.3" → "blocks.3.self_attn"). */
  sub(name: string | number): Params {
    return new Params(this.g, this.store, this.key(String(name)), this.precision);
  }

  key(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  has(name: string): boolean {
    return this.store.has(this.key(name));
  }

  /** A parameter stored as-is (float32 unless asked otherwise), checked against `shape`. */
  tensor(name: string, shape: number[], opts: { dtype?: DType; dims?: number[] } = {}): Tensor {
    const key = this.key(name);
    const dtype = opts.dtype ?? "float32";
    const dims = opts.dims ?? shape;
    return this.g.initializer(initializerName(key, dtype, dims), this.store.initializer(key, shape, { to: dtype, dims }));
  }

  /**
   * The matmul operand of a PyTorch Linear weight [out, in], stored transposed as [in, out]. `storedShape`
   * lets a 1×1 conv weight ([out, in, 1, 1]) serve as a Linear.
   */
  linearWeight(
    name: string,
    inFeatures: number,
    outFeatures: number,
    dtype: DType,
    storedShape: number[] = [outFeatures, inFeatures],
  ): Tensor {
    const key = this.key(name);
    return this.g.initializer(
      initializerName(key, dtype, [inFeatures, outFeatures]),
      this.store.initializer(key, storedShape, { to: dtype, transpose: true }),
    );
  }

  /**
   * `x @ weightᵀ + bias` for this module (a PyTorch Linear). `half` layers run in float16 in fp16 graphs:
   * the input is cast down, and the result is returned as `out` (default: float32).
   */
  linear(
    x: Tensor,
    inFeatures: number,
    outFeatures: number,
    opts: { bias?: boolean; half?: boolean; out?: DType } = {},
  ): Tensor {
    if (opts.half && (this.precision === "int8" || this.precision === "int8-compute")) return this.quantizedLinear(x, inFeatures, outFeatures, opts);
    const dtype: DType = opts.half && this.precision === "fp16" ? "float16" : "float32";
    const w = this.linearWeight("weight", inFeatures, outFeatures, dtype);
    let y = x.cast(dtype).matmul(w);
    if (opts.bias ?? true) y = y.add(this.tensor("bias", [outFeatures], { dtype }));
    return y.cast(opts.out ?? "float32");
  }

  /** `x @ weightᵀ + bias` with the weight block-quantized to 8 bits (MatMulNBits; float32 in and out; int8 compute for `int8-compute`). */
  private quantizedLinear(x: Tensor, inFeatures: number, outFeatures: number, opts: { bias?: boolean; out?: DType }): Tensor {
    const key = this.key("weight");
    const q = quantizedInitializers(this.store, key, [outFeatures, inFeatures]);
    const blob = this.g.initializer(`${key}:q${QUANT_BITS}[${q.blob.dims.join("x")}]`, q.blob);
    const scales = this.g.initializer(`${key}:q${QUANT_BITS}.scales[${q.scales.dims.join("x")}]`, q.scales);
    let y = this.g.op(
      "MatMulNBits",
      [x.cast("float32"), blob, scales],
      {
        K: inFeatures,
        N: outFeatures,
        bits: QUANT_BITS,
        block_size: QUANT_BLOCK,
        ...(this.precision === "int8-compute" ? { accuracy_level: INT8_COMPUTE_ACCURACY_LEVEL } : {}),
      },
      { dtype: "float32", rank: x.rank, domain: "com.microsoft" },
    );
    if (opts.bias ?? true) y = y.add(this.tensor("bias", [outFeatures]));
    return y.cast(opts.out ?? "float32");
  }

  /** The element type `half` layers and attention compute in: float16 in fp16 graphs, else float32. */
  get halfDtype(): DType {
    return this.precision === "fp16" ? "float16" : "float32";
  }
}

/** Initializer names carry the stored form, so one checkpoint tensor can appear in two forms without a clash. */
function initializerName(key: string, dtype: DType, dims: number[]): string {
  return `${key}:${dtype}[${dims.join("x")}]`;
}

/** LayerNorm over the last axis without affine parameters (the DiT's norm1/norm2, head norm). */
export function layerNormPlain(x: Tensor, size: number, eps: number): Tensor {
  return x.layerNorm(eps, { size });
}

/** Affine LayerNorm with `p.weight`/`p.bias`. */
export function layerNormAffine(p: Params, x: Tensor, size: number, eps: number): Tensor {
  return x.layerNorm(eps, { scale: p.tensor("weight", [size]), bias: p.tensor("bias", [size]) });
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) ⊙ weight (ONNX RMSNormalization, statistics in fp32). */
export function rmsNorm(p: Params, x: Tensor, size: number, eps: number, weightName = "weight"): Tensor {
  const weight = p.tensor(weightName, [size]);
  return p.g.op("RMSNormalization", [x, weight], { axis: -1, epsilon: float(eps), stash_type: 1 }, {
    dtype: x.dtype,
    rank: x.rank,
  });
}

/**
 * Multi-head attention (com.microsoft.MultiHeadAttention): q [B, Lq, N·d], k/v [B, Lk, N·d] → [B, Lq, N·d].
 * On CPU, ONNX Runtime runs it as a tiled flash attention (no [N, Lq, Lk] score matrix is ever
 * materialised), on CUDA as flash / memory-efficient attention. `scale` defaults to 1/√d.
 * `attentionBias` [1 or B, 1 or N, Lq, Lk] (same dtype as q) is added to the scaled logits before the
 * softmax: T5's relative position bias goes there (it is the op's 6th input, `attention_bias`).
 */
export function multiHeadAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  numHeads: number,
  scale?: number,
  attentionBias?: Tensor,
): Tensor {
  if (attentionBias && attentionBias.dtype !== q.dtype) {
    throw new Error(`MultiHeadAttention: attention bias is ${attentionBias.dtype}, queries are ${q.dtype}`);
  }
  // Inputs 3 and 4 (packed projection bias, key padding mask) stay empty.
  const inputs = attentionBias ? [q, k, v, null, null, attentionBias] : [q, k, v];
  return q.g.op(
    "MultiHeadAttention",
    inputs,
    { num_heads: numHeads, ...(scale !== undefined ? { scale: float(scale) } : {}) },
    { dtype: q.dtype, rank: 3, domain: "com.microsoft" },
  );
}

export type ConvOptions = {
  /** Per spatial axis; default 1. */
  strides?: number[];
  /** ONNX order: all begins, then all ends (e.g. [top, left, bottom, right] for 2-D); default no padding. */
  pads?: number[];
};

/**
 * ONNX Conv of any spatial rank (2-D on [N, C, H, W], 3-D on [N, C, T, H, W]): `weight` [Cout, Cin, k…],
 * optional `bias` [Cout]. Weights are passed in, not read here, because callers often view or slice a
 * checkpoint tensor first (e.g. the VAE's per-tap 2-D kernels of a 3-D conv).
 */
export function conv(x: Tensor, weight: Tensor, bias: Tensor | null, o: ConvOptions = {}): Tensor {
  const attrs: Record<string, number[]> = {};
  if (o.strides) attrs.strides = o.strides;
  if (o.pads) attrs.pads = o.pads;
  return x.g.op("Conv", bias ? [x, weight, bias] : [x, weight], attrs, { dtype: x.dtype, rank: x.rank });
}
