/**
 * A typed handle on a value in a graph under construction. Its methods emit ONNX nodes, so model code
 * reads like array code: `x.add(y.mul(gate))`, `q.matmul(k.transpose([0, 2, 1]))`.
 */
import type { DType } from "./dtype.ts";
import type { GraphBuilder } from "./builder.ts";
import { float, type AttrValue } from "./attributes.ts";

/** A dimension: a number, or the name of a symbolic dimension. */
export type Dim = number | string;

/** A shape operand: a list of numbers and int64 [1] tensors, or one int64 tensor holding the whole shape. */
export type ShapeLike = (number | Tensor)[] | Tensor;

export class Tensor {
  constructor(
    readonly g: GraphBuilder,
    readonly name: string,
    readonly dtype: DType,
    /** Known rank, when the op that made this tensor lets us say; used only for checks and convenience. */
    readonly rank?: number,
  ) {}

  private unary(op: string, attrs?: Record<string, AttrValue>, dtype: DType = this.dtype, rank = this.rank): Tensor {
    return this.g.op(op, [this], attrs, { dtype, rank });
  }

  private binary(op: string, other: Tensor | number, dtype: DType = this.dtype): Tensor {
    const o = typeof other === "number" ? this.g.scalar(other, this.dtype) : other;
    if (o.dtype !== this.dtype) {
      throw new Error(`${op}: dtype mismatch ${this.dtype} (${this.name}) vs ${o.dtype} (${o.name})`);
    }
    const rank = this.rank !== undefined && o.rank !== undefined ? Math.max(this.rank, o.rank) : undefined;
    return this.g.op(op, [this, o], undefined, { dtype, rank });
  }

  // --- element-wise arithmetic ---
  add(o: Tensor | number): Tensor {
    return this.binary("Add", o);
  }
  sub(o: Tensor | number): Tensor {
    return this.binary("Sub", o);
  }
  mul(o: Tensor | number): Tensor {
    return this.binary("Mul", o);
  }
  div(o: Tensor | number): Tensor {
    return this.binary("Div", o);
  }
  pow(o: Tensor | number): Tensor {
    return this.binary("Pow", o);
  }
  max(o: Tensor | number): Tensor {
    return this.binary("Max", o);
  }
  min(o: Tensor | number): Tensor {
    return this.binary("Min", o);
  }
  neg(): Tensor {
    return this.unary("Neg");
  }
  sqrt(): Tensor {
    return this.unary("Sqrt");
  }
  reciprocal(): Tensor {
    return this.unary("Reciprocal");
  }
  exp(): Tensor {
    return this.unary("Exp");
  }
  tanh(): Tensor {
    return this.unary("Tanh");
  }
  sigmoid(): Tensor {
    return this.unary("Sigmoid");
  }
  /** SiLU(x) = x·σ(x). */
  silu(): Tensor {
    return this.mul(this.sigmoid());
  }
  /** GELU, exact (erf) or with the tanh approximation (ONNX Gelu, opset 20). */
  gelu(approximate: "none" | "tanh"): Tensor {
    return this.unary("Gelu", { approximate });
  }
  clip(min: number, max: number): Tensor {
    return this.g.op("Clip", [this, this.g.scalar(min, this.dtype), this.g.scalar(max, this.dtype)], undefined, {
      dtype: this.dtype,
      rank: this.rank,
    });
  }

  // --- linear algebra ---
  matmul(o: Tensor): Tensor {
    if (o.dtype !== this.dtype) throw new Error(`MatMul: dtype mismatch ${this.dtype} vs ${o.dtype}`);
    return this.g.op("MatMul", [this, o], undefined, { dtype: this.dtype, rank: this.rank });
  }

  // --- reductions and normalisations ---
  reduceMean(axes: number[], keepdims = true): Tensor {
    return this.g.op("ReduceMean", [this, this.g.int64s(axes)], { keepdims: keepdims ? 1 : 0 }, { dtype: this.dtype });
  }
  reduceSum(axes: number[], keepdims = true): Tensor {
    return this.g.op("ReduceSum", [this, this.g.int64s(axes)], { keepdims: keepdims ? 1 : 0 }, { dtype: this.dtype });
  }
  reduceSumSquare(axes: number[], keepdims = true): Tensor {
    return this.g.op("ReduceSumSquare", [this, this.g.int64s(axes)], { keepdims: keepdims ? 1 : 0 }, {
      dtype: this.dtype,
    });
  }
  softmax(axis = -1): Tensor {
    return this.unary("Softmax", { axis });
  }
  /**
   * LayerNormalization over the last axis. Pass the affine `scale` (and `bias`), or `{ size }` for a
   * norm without parameters (ONNX still wants a scale: ones of that size).
   */
  layerNorm(eps: number, affine: { scale: Tensor; bias?: Tensor } | { size: number }): Tensor {
    const scale = "scale" in affine ? affine.scale : this.g.constantFilled(1, this.dtype, [affine.size]);
    const bias = "scale" in affine ? affine.bias : undefined;
    return this.g.op("LayerNormalization", bias ? [this, scale, bias] : [this, scale], { axis: -1, epsilon: float(eps) }, {
      dtype: this.dtype,
      rank: this.rank,
    });
  }

  /** Rows of this tensor picked by integer `indices` along `axis` (an embedding lookup for axis 0). */
  gather(indices: Tensor, axis = 0): Tensor {
    const rank = this.rank !== undefined && indices.rank !== undefined ? this.rank + indices.rank - 1 : undefined;
    return this.g.op("Gather", [this, indices], { axis }, { dtype: this.dtype, rank });
  }

  // --- shape manipulation ---
  reshape(shape: ShapeLike, rank?: number): Tensor {
    const shapeTensor = this.g.shapeTensor(shape);
    const r = rank ?? (Array.isArray(shape) ? shape.length : undefined);
    return this.g.op("Reshape", [this, shapeTensor], undefined, { dtype: this.dtype, rank: r });
  }
  transpose(perm: number[]): Tensor {
    return this.unary("Transpose", { perm }, this.dtype, perm.length);
  }
  unsqueeze(axes: number[]): Tensor {
    const rank = this.rank !== undefined ? this.rank + axes.length : undefined;
    return this.g.op("Unsqueeze", [this, this.g.int64s(axes)], undefined, { dtype: this.dtype, rank });
  }
  squeeze(axes: number[]): Tensor {
    const rank = this.rank !== undefined ? this.rank - axes.length : undefined;
    return this.g.op("Squeeze", [this, this.g.int64s(axes)], undefined, { dtype: this.dtype, rank });
  }
  /** Slice along `axes` (negative ends count from the end; use a large number for "to the end"). */
  slice(starts: number[], ends: number[], axes: number[], steps?: number[]): Tensor {
    const inputs = [this, this.g.int64s(starts), this.g.int64s(ends), this.g.int64s(axes)];
    if (steps) inputs.push(this.g.int64s(steps));
    return this.g.op("Slice", inputs, undefined, { dtype: this.dtype, rank: this.rank });
  }
  /** Slice with starts/ends given as int64 [n] tensors (dynamic bounds). */
  sliceDynamic(starts: Tensor, ends: Tensor, axes: number[]): Tensor {
    return this.g.op("Slice", [this, starts, ends, this.g.int64s(axes)], undefined, {
      dtype: this.dtype,
      rank: this.rank,
    });
  }
  split(sizes: number[], axis: number): Tensor[] {
    return this.g.ops("Split", [this, this.g.int64s(sizes)], sizes.length, { axis }, { dtype: this.dtype, rank: this.rank });
  }
  cast(to: DType): Tensor {
    if (to === this.dtype) return this;
    return this.g.op("Cast", [this], { to: this.g.onnxType(to) }, { dtype: to, rank: this.rank });
  }
  /** The runtime shape as an int64 [rank] tensor, or the dims [start, end) of it. */
  shape(start?: number, end?: number): Tensor {
    const attrs: Record<string, AttrValue> = {};
    if (start !== undefined) attrs.start = start;
    if (end !== undefined) attrs.end = end;
    return this.g.op("Shape", [this], attrs, { dtype: "int64", rank: 1 });
  }
  /** Dimension `axis` at run time, as an int64 [1] tensor. */
  dim(axis: number): Tensor {
    return this.shape(axis, axis === -1 ? undefined : axis + 1);
  }
  /** Pads with constant zeros: `pads` as ONNX orders them (all begins, then all ends). */
  pad(pads: number[], mode: "constant" | "reflect" | "edge" = "constant"): Tensor {
    return this.g.op("Pad", [this, this.g.int64s(pads)], { mode }, { dtype: this.dtype, rank: this.rank });
  }
  /** Names this value in the graph (adds an Identity), e.g. to expose an intermediate for debugging. */
  named(name: string): Tensor {
    return this.g.op("Identity", [this], undefined, { dtype: this.dtype, rank: this.rank, name });
  }
}
