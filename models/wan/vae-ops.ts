/**
 * Video operations for the Wan VAE graphs in one of two memory layouts, and THE temporal convolution
 * primitive (CausalConv3d's conv, official wan/modules/vae.py, CausalConv3d.forward) with its interchangeable implementations (docs/model-notes.md#onnx-notes).
 *
 * Layouts:
 *   ncthw  [1, C, T, H, W]  the official layout; used by the ONNX Conv 3-D variant.
 *   tchw   [T, C, H, W]     frames as the batch axis; used by the 2-D variants. Every per-frame op of the
 *                           VAE (stride-2 downsample conv, nearest upsample, attention) applies directly,
 *                           and upsample3d's channel-halves → time interleave is a free reshape.
 *
 * Conv variants (all exact; benchmarked in bench/vae.ts):
 *   conv3d   one ONNX Conv 3-D over the time-concatenated input.
 *   taps2d   Σ_k Conv2d(frames t−(kt−1)+k, W[:, :, k]): one 2-D conv per temporal tap, summed (docs/model-notes.md#onnx-notes).
 *   stack2d  the same taps stacked along channels: one Conv2d over concat_k(frames t−(kt−1)+k) with the
 *            weight [Cout, kt·Cin, kh, kw] — the same multiply-adds as one conv, so one large GEMM.
 * Every variant skips taps that can only see the known-zero frames of an empty cache (first chunk).
 */
import type { GraphBuilder } from "../graph/builder.ts";
import type { Tensor } from "../graph/tensor.ts";
import { conv, type Params } from "../nn.ts";

export type VaeConvVariant = "conv3d" | "taps2d" | "stack2d";
export const VAE_CONV_VARIANTS: readonly VaeConvVariant[] = ["conv3d", "taps2d", "stack2d"];

export type VaeLayout = "ncthw" | "tchw";

/** A video activation in the graph with its static channel and frame counts (the graphs' chunk sizes are fixed). */
export type Act = { x: Tensor; c: number; t: number };

export class VideoOps {
  readonly layout: VaeLayout;

  constructor(
    readonly g: GraphBuilder,
    readonly variant: VaeConvVariant,
  ) {
    this.layout = variant === "conv3d" ? "ncthw" : "tchw";
  }

  get timeAxis(): number {
    return this.layout === "ncthw" ? 2 : 0;
  }

  // --- graph boundary: the graphs' inputs and outputs are [1, C, T, H, W] in both layouts ---------------

  fromNCTHW(x: Tensor, c: number, t: number): Act {
    if (this.layout === "ncthw") return { x, c, t };
    return { x: x.squeeze([0]).transpose([1, 0, 2, 3]), c, t };
  }

  toNCTHW(v: Act): Tensor {
    return this.layout === "ncthw" ? v.x : v.x.transpose([1, 0, 2, 3]).unsqueeze([0]);
  }

  /**
   * Frames-first [T, C, H, W] at the boundary between a step graph and a per-frame graph (vae.ts), whatever
   * the internal layout: frame k is then one contiguous block, which the engine passes on without a copy.
   */
  fromFrames(x: Tensor, c: number, t: number): Act {
    if (this.layout === "tchw") return { x, c, t };
    return { x: t === 1 ? x.unsqueeze([2]) : x.transpose([1, 0, 2, 3]).unsqueeze([0]), c, t };
  }

  toFrames(v: Act): Tensor {
    if (this.layout === "tchw") return v.x;
    return v.t === 1 ? v.x.squeeze([2]) : v.x.squeeze([0]).transpose([1, 0, 2, 3]);
  }

  // --- time axis ----------------------------------------------------------------------------------------

  concatTime(parts: Act[]): Act {
    return { x: this.g.concat(parts.map((p) => p.x), this.timeAxis), c: parts[0].c, t: parts.reduce((a, p) => a + p.t, 0) };
  }

  /** Frames start, start+step, … < end (no node when that is all of `v`). */
  sliceTime(v: Act, start: number, end: number, step = 1): Act {
    const t = Math.ceil((end - start) / step);
    if (start === 0 && end === v.t && step === 1) return v;
    return { x: v.x.slice([start], [end], [this.timeAxis], step === 1 ? undefined : [step]), c: v.c, t };
  }

  /** `n` zero frames before `v`. */
  padTimeFront(v: Act, n: number): Act {
    const rank = this.layout === "ncthw" ? 5 : 4;
    const pads = new Array<number>(2 * rank).fill(0);
    pads[this.timeAxis] = n;
    return { x: v.x.pad(pads), c: v.c, t: v.t + n };
  }

  /** Zeros shaped like `v` but with `frames` frames. */
  zerosLike(v: Act, frames: number): Act {
    const shape = v.x.shape();
    const dims =
      this.layout === "ncthw"
        ? this.g.concat([shape.slice([0], [2], [0]), this.g.int64s([frames]), shape.slice([3], [5], [0])], 0)
        : this.g.concat([this.g.int64s([frames]), shape.slice([1], [4], [0])], 0);
    // ConstantOfShape without a value attribute yields float32 zeros.
    return { x: this.g.op("ConstantOfShape", [dims], undefined, { dtype: "float32", rank: v.x.rank }), c: v.c, t: frames };
  }

  /**
   * upsample3d's time_conv output [.., 2C, T, ..] → [.., C, 2T, ..]: channels [0, C) become frame 2i and
   * [C, 2C) frame 2i+1 (official wan/modules/vae.py, Resample.forward).
   */
  interleaveChannelHalvesInTime(v: Act): Act {
    const c = v.c / 2;
    if (this.layout === "tchw") return { x: v.x.reshape([2 * v.t, c, 0, 0]), c, t: 2 * v.t };
    const h = v.x.dim(3);
    const w = v.x.dim(4);
    const x = v.x
      .reshape([1, 2, c, v.t, h, w])
      .transpose([0, 2, 3, 1, 4, 5]) // [1, C, T, 2, H, W]
      .reshape([1, c, 2 * v.t, h, w]);
    return { x, c, t: 2 * v.t };
  }

  // --- channels -----------------------------------------------------------------------------------------

  sliceChannels(v: Act, start: number, end: number): Act {
    return { x: v.x.slice([start], [end], [1]), c: end - start, t: v.t };
  }

  /** Per-channel constants that broadcast against an activation. */
  channelConstant(values: number[]): Tensor {
    const dims = this.layout === "ncthw" ? [values.length, 1, 1, 1] : [values.length, 1, 1];
    return this.g.constant(values, "float32", dims);
  }

  /**
   * RMS_norm (official wan/modules/vae.py, RMS_norm): γ ⊙ √C · x / max(‖x‖₂, 1e-12), the L2 norm over channels at every position — PyTorch's
   * F.normalize; there is no ε inside a square root. γ is stored [C,1,1,1] (3-D) or [C,1,1] (2-D).
   */
  rmsNorm(p: Params, v: Act, images: boolean): Act {
    const stored = images ? [v.c, 1, 1] : [v.c, 1, 1, 1];
    const gamma = p.tensor("gamma", stored, { dims: this.layout === "ncthw" ? [v.c, 1, 1, 1] : [v.c, 1, 1] });
    const norm = v.x.reduceSumSquare([1]).sqrt().max(1e-12);
    return { x: v.x.div(norm).mul(gamma.mul(Math.sqrt(v.c))), c: v.c, t: v.t };
  }

  silu(v: Act): Act {
    return { x: v.x.silu(), c: v.c, t: v.t };
  }

  add(a: Act, b: Act): Act {
    return { x: a.x.add(b.x), c: a.c, t: a.t };
  }

  // --- convolutions -------------------------------------------------------------------------------------

  /**
   * THE temporal conv primitive: a 3-D conv with kernel (kt, kh, kw), temporal stride `tStride`, no temporal
   * padding (the causal context is already in `seq`) and symmetric spatial padding (kh−1)/2, (kw−1)/2.
   * Reads `p.weight` [Cout, Cin, kt, kh, kw] and `p.bias` [Cout].
   */
  temporalConv(p: Params, seq: TimeSeq, o: { cout: number; kernel: [number, number, number]; tStride?: number }): Act {
    const [kt, kh, kw] = o.kernel;
    const s = o.tStride ?? 1;
    const cin = seq.x.c;
    const tOut = Math.floor((seq.t - kt) / s) + 1;
    if (tOut < 1) throw new Error(`temporal conv ${p.path}: ${seq.t} frames are fewer than the kernel's ${kt}`);
    const weight = p.tensor("weight", [o.cout, cin, kt, kh, kw]);
    const bias = p.tensor("bias", [o.cout]);
    const [ph, pw] = [(kh - 1) / 2, (kw - 1) / 2];
    // Tap k reads frames k, k+s, …, k+s·(tOut−1); it contributes only if its last frame is past the zero lead.
    const firstTap = Math.max(0, seq.zeroLead - s * (tOut - 1));
    const span = (k: number) => seq.frames(k, k + s * (tOut - 1) + 1, s);
    const tapWeights = (from: number, to: number) => (from === 0 && to === kt ? weight : weight.slice([from], [to], [2]));

    if (this.variant === "conv3d") {
      const input = this.sliceTime(seq.all(), firstTap, seq.t);
      const y = conv(input.x, tapWeights(firstTap, kt), bias, { strides: [s, 1, 1], pads: [0, ph, pw, 0, ph, pw] });
      return { x: y, c: o.cout, t: tOut };
    }
    const pads = [ph, pw, ph, pw];
    // ONNX Runtime's WebGPU Conv (1.30) miscomputes some input widths that are not a multiple of 4 — the
    // RGB input conv's 3 taps × 3 channels = 9 among them (tests/engine/webgpu.test.ts) — so such a stack
    // runs as taps of its own (3 channels each), exact everywhere.
    const stackable = ((kt - firstTap) * cin) % 4 === 0;
    if (this.variant === "taps2d" || (this.variant === "stack2d" && !stackable)) {
      let y: Tensor | undefined;
      // The last tap (the current frame, never zero) carries the bias.
      for (let k = kt - 1; k >= firstTap; k--) {
        const wk = tapWeights(k, k + 1).squeeze([2]);
        const yk = conv(span(k).x, wk, y ? null : bias, { pads });
        y = y ? y.add(yk) : yk;
      }
      return { x: y!, c: o.cout, t: tOut };
    }
    // stack2d: [T, n·Cin, H, W] ⊛ W[:, :, first:] laid out tap-major along input channels. The stack is one
    // Gather of frame windows (output j, tap i → frame first + i + s·j), i.e. a single copy of the input.
    const taps = kt - firstTap;
    const w = tapWeights(firstTap, kt).transpose([0, 2, 1, 3, 4]).reshape([o.cout, taps * cin, kh, kw]);
    let stacked: Tensor;
    if (taps === 1) {
      stacked = span(firstTap).x;
    } else if (tOut === 1 && taps === seq.t) {
      // One output frame over the whole input (a one-frame chunk): the stack IS the input, tap-major, and no
      // Gather copy is needed. The target shape is constant (0 = keep that dim), so no Shape node reads it.
      stacked = seq.all().x.reshape([1, taps * cin, 0, 0]);
    } else {
      const xc = seq.all().x;
      const windows = Array.from({ length: tOut }, (_, j) => Array.from({ length: taps }, (_, i) => firstTap + i + s * j));
      const index = this.g.constant(windows.flat(), "int64", [tOut, taps]);
      const gathered = this.g.op("Gather", [xc, index], { axis: 0 }, { dtype: xc.dtype, rank: 5 }); // [T, n, C, H, W]
      stacked = gathered.reshape([tOut, taps * cin, xc.dim(2), -1]);
    }
    return { x: conv(stacked, w, bias, { pads }), c: o.cout, t: tOut };
  }

  /** A 1×1×1 conv (shortcuts, the top-level quant convs): no temporal context. */
  pointConv(p: Params, v: Act, cout: number): Act {
    const dims = this.layout === "ncthw" ? [cout, v.c, 1, 1, 1] : [cout, v.c, 1, 1];
    const weight = p.tensor("weight", [cout, v.c, 1, 1, 1], { dims });
    return { x: conv(v.x, weight, p.tensor("bias", [cout])), c: cout, t: v.t };
  }

  /** A per-frame 2-D 3×3 conv (the resamplers' `resample.1`), weight [Cout, Cin, 3, 3]. */
  frameConv(p: Params, v: Act, o: { cout: number; stride: number; pads: [number, number, number, number] }): Act {
    const [top, left, bottom, right] = o.pads;
    const bias = p.tensor("bias", [o.cout]);
    if (this.layout === "tchw") {
      const weight = p.tensor("weight", [o.cout, v.c, 3, 3]);
      return { x: conv(v.x, weight, bias, { strides: [o.stride, o.stride], pads: o.pads }), c: o.cout, t: v.t };
    }
    // A 2-D conv per frame is a 3-D conv with a 1×3×3 kernel: no transposes needed in this layout.
    const weight = p.tensor("weight", [o.cout, v.c, 3, 3], { dims: [o.cout, v.c, 1, 3, 3] });
    const y = conv(v.x, weight, bias, { strides: [1, o.stride, o.stride], pads: [0, top, left, 0, bottom, right] });
    return { x: y, c: o.cout, t: v.t };
  }

  /**
   * Nearest ×2 in height and width. The official `nearest-exact` and ONNX `nearest` with floor rounding of
   * asymmetric coordinates pick the same source pixel for an exact 2× scale (docs/model-notes.md#building-blocks; docs/model-notes.md#onnx-notes).
   */
  upsampleNearest2x(v: Act): Act {
    const scales = this.layout === "ncthw" ? [1, 1, 1, 2, 2] : [1, 1, 2, 2];
    const y = this.g.op(
      "Resize",
      [v.x, null, this.g.constant(scales, "float32", [scales.length])],
      { mode: "nearest", coordinate_transformation_mode: "asymmetric", nearest_mode: "floor" },
      { dtype: v.x.dtype, rank: v.x.rank },
    );
    return { x: y, c: v.c, t: v.t };
  }

  // --- attention tokens ---------------------------------------------------------------------------------

  /** [T, H·W, C]: one sequence of h·w positions per frame. */
  toTokens(v: Act): Tensor {
    if (this.layout === "tchw") return v.x.reshape([0, v.c, -1]).transpose([0, 2, 1]);
    return v.x.transpose([0, 2, 3, 4, 1]).reshape([v.t, -1, v.c]);
  }

  /** Inverse of toTokens, shaped like `like`. */
  fromTokens(tokens: Tensor, like: Act): Act {
    if (this.layout === "tchw") return { x: tokens.transpose([0, 2, 1]).reshape(like.x.shape(), 4), c: like.c, t: like.t };
    const x = tokens.reshape([1, like.t, like.x.dim(3), like.x.dim(4), like.c]).transpose([0, 4, 1, 2, 3]);
    return { x, c: like.c, t: like.t };
  }
}

/**
 * A conv input seen as the time concatenation [lead, x] without building it unless needed: `lead` is the
 * cached frames (one tensor, or one per frame in the per-frame graphs), or (null) `leadFrames` zero frames
 * (an empty cache / causal padding, official wan/modules/vae.py, CausalConv3d.forward). Frame ranges that lie inside `x` are sliced from `x` directly,
 * so e.g. the current-frame tap costs no copy; the full input is one Concat however many parts.
 */
export class TimeSeq {
  private materialised: Act | undefined;

  constructor(
    private readonly ops: VideoOps,
    private readonly lead: readonly Act[] | null,
    private readonly leadFrames: number,
    readonly x: Act,
  ) {
    const t = lead?.reduce((a, p) => a + p.t, 0);
    if (t !== undefined && t !== leadFrames) throw new Error(`cache has ${t} frames, expected ${leadFrames}`);
  }

  get t(): number {
    return this.leadFrames + this.x.t;
  }

  /** Leading frames known to be zero. */
  get zeroLead(): number {
    return this.lead ? 0 : this.leadFrames;
  }

  all(): Act {
    this.materialised ??= this.lead
      ? this.ops.concatTime([...this.lead, this.x])
      : this.leadFrames
        ? this.ops.padTimeFront(this.x, this.leadFrames)
        : this.x;
    return this.materialised;
  }

  frames(start: number, end: number, step = 1): Act {
    if (start >= this.leadFrames) return this.ops.sliceTime(this.x, start - this.leadFrames, end - this.leadFrames, step);
    // A range inside one cached part (a per-frame graph's single frames) is sliced from that part alone.
    let offset = 0;
    for (const part of this.lead ?? []) {
      if (start >= offset && end <= offset + part.t) return this.ops.sliceTime(part, start - offset, end - offset, step);
      offset += part.t;
    }
    return this.ops.sliceTime(this.all(), start, end, step);
  }

  last(n: number): Act {
    return this.frames(this.t - n, this.t);
  }
}
