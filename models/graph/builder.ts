/**
 * Builds one ONNX graph: inputs, outputs, nodes, constants and initializers. Initializers are recorded
 * as lazy byte streams and only read when the model is saved (see save.ts), one tensor at a time, so a
 * multi-gigabyte checkpoint never sits in memory whole.
 */
import type onnxProto from "onnx-proto";
import { encodeAttribute, type AttrValue } from "./attributes.ts";
import { BYTES_PER_ELEMENT, floatToHalf, ONNX_DTYPE, type DType } from "./dtype.ts";
import { Tensor, type Dim, type ShapeLike } from "./tensor.ts";


/** Opset versions every graph imports. ONNX Runtime 1.30 loads ai.onnx ≤ 26, com.microsoft 1, IR ≤ 13. */
export const OPSET = { onnx: 23, microsoft: 1 } as const;
export const IR_VERSION = 11;

export type InitializerData = {
  dtype: DType;
  dims: number[];
  /** The raw little-endian bytes, in order, possibly in several chunks. Read once, when saving. */
  chunks(): AsyncIterable<Uint8Array>;
  /** True for checkpoint weights, which graphs saved into one data file may share by name. */
  shared?: boolean;
};

export type Initializer = InitializerData & { name: string; byteLength: number };

type ValueInfo = { name: string; dtype: DType; dims: Dim[] };

type OpOptions = { dtype: DType; rank?: number; domain?: string; name?: string };

export class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  readonly initializers = new Map<string, Initializer>();
  private readonly names = new Set<string>();
  private readonly constCache = new Map<string, Tensor>();
  private readonly scopes: string[] = [];
  private counter = 0;
  usesMicrosoftDomain = false;

  constructor(readonly name: string) {}

  // --- naming -------------------------------------------------------------------------------------

  /** Runs `fn` with node names prefixed by `name` (e.g. "blocks.3/self_attn"), for readable graphs. */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  private fresh(base: string): string {
    const prefix = this.scopes.length ? this.scopes.join("/") + "/" : "";
    let name = `${prefix}${base}`;
    while (this.names.has(name)) name = `${prefix}${base}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph ${this.name}: the name ${name} is already used`);
    this.names.add(name);
    return name;
  }

  // --- graph interface ----------------------------------------------------------------------------

  input(name: string, dtype: DType, dims: Dim[]): Tensor {
    this.inputs.push({ name: this.claim(name), dtype, dims });
    return new Tensor(this, name, dtype, dims.length);
  }

  /** Declares `t` as a graph output called `name` (an Identity is added when the value has another name). */
  output(t: Tensor, name: string, dims?: Dim[]): void {
    const value = t.name === name ? t : this.op("Identity", [t], undefined, { dtype: t.dtype, name });
    this.outputs.push({ name: value.name, dtype: t.dtype, dims: dims ?? [] });
  }

  // --- nodes --------------------------------------------------------------------------------------

  /** Adds a node with one output. `null` inputs are omitted optional inputs. */
  op(opType: string, inputs: (Tensor | null)[], attrs: Record<string, AttrValue> | undefined, o: OpOptions): Tensor {
    return this.ops(opType, inputs, 1, attrs, o)[0];
  }

  /** Adds a node with `outputs` outputs (all of dtype `o.dtype`). */
  ops(
    opType: string,
    inputs: (Tensor | null)[],
    outputs: number,
    attrs: Record<string, AttrValue> | undefined,
    o: OpOptions,
  ): Tensor[] {
    const outNames = Array.from({ length: outputs }, (_, i) =>
      o.name && i === 0 ? this.claim(o.name) : this.fresh(outputs === 1 ? opType : `${opType}_out${i}`),
    );
    if (o.domain === "com.microsoft") this.usesMicrosoftDomain = true;
    this.nodes.push({
      opType,
      domain: o.domain ?? "",
      name: outNames[0] + ":node",
      input: inputs.map((t) => (t ? t.name : "")),
      output: outNames,
      attribute: Object.entries(attrs ?? {})
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => encodeAttribute(k, v)),
    });
    return outNames.map((n) => new Tensor(this, n, o.dtype, o.rank));
  }

  // --- constants ----------------------------------------------------------------------------------

  /** A small constant stored inline in the graph. */
  constant(data: ArrayLike<number> | bigint[], dtype: DType, dims: number[]): Tensor {
    const bytes = encodeValues(data, dtype);
    const key = `${dtype}|${dims.join(",")}|${Buffer.from(bytes).toString("base64")}`;
    const cached = this.constCache.get(key);
    if (cached) return cached;
    const name = this.fresh("const");
    this.initializers.set(name, {
      name,
      dtype,
      dims,
      byteLength: bytes.byteLength,
      async *chunks() {
        yield bytes;
      },
    });
    const t = new Tensor(this, name, dtype, dims.length);
    this.constCache.set(key, t);
    return t;
  }

  scalar(value: number, dtype: DType): Tensor {
    return this.constant([value], dtype, []);
  }

  int64s(values: number[]): Tensor {
    return this.constant(values, "int64", [values.length]);
  }

  constantFilled(value: number, dtype: DType, dims: number[]): Tensor {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.constant(new Array<number>(n).fill(value), dtype, dims);
  }

  /** Turns a shape operand into an int64 [rank] tensor (numbers are constants; tensors are int64 [1]). */
  shapeTensor(shape: ShapeLike): Tensor {
    if (!Array.isArray(shape)) return shape;
    if (shape.every((d) => typeof d === "number")) return this.int64s(shape as number[]);
    const parts = shape.map((d) => (typeof d === "number" ? this.int64s([d]) : d));
    return this.op("Concat", parts, { axis: 0 }, { dtype: "int64", rank: 1 });
  }

  /** Concatenates tensors along `axis`. */
  concat(parts: Tensor[], axis: number): Tensor {
    if (parts.length === 1) return parts[0];
    return this.op("Concat", parts, { axis }, { dtype: parts[0].dtype, rank: parts[0].rank });
  }

  // --- initializers (weights) ---------------------------------------------------------------------

  /**
   * Registers a named initializer whose bytes are produced when saving. The same name may be registered
   * again only with the same dtype and dims (the tensor is then shared).
   */
  initializer(name: string, data: InitializerData): Tensor {
    const existing = this.initializers.get(name);
    if (existing) {
      if (existing.dtype !== data.dtype || existing.dims.join() !== data.dims.join()) {
        throw new Error(`initializer ${name} registered twice with different types`);
      }
      return new Tensor(this, name, data.dtype, data.dims.length);
    }
    this.claim(name);
    const byteLength = data.dims.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[data.dtype];
    this.initializers.set(name, { ...data, name, byteLength });
    return new Tensor(this, name, data.dtype, data.dims.length);
  }

  onnxType(dtype: DType): number {
    return ONNX_DTYPE[dtype];
  }

  /** The graph as an ONNX GraphProto, given how each initializer is stored (inline bytes or external). */
  toGraphProto(
    storeInitializer: (init: Initializer) => Pick<onnxProto.onnx.ITensorProto, "rawData" | "dataLocation" | "externalData">,
  ): onnxProto.onnx.IGraphProto {
    const valueInfo = (v: ValueInfo): onnxProto.onnx.IValueInfoProto => ({
      name: v.name,
      type: {
        tensorType: {
          elemType: ONNX_DTYPE[v.dtype],
          shape: { dim: v.dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
        },
      },
    });
    return {
      name: this.name,
      input: this.inputs.map(valueInfo),
      output: this.outputs.map((o) => (o.dims.length ? valueInfo(o) : { name: o.name, type: { tensorType: { elemType: ONNX_DTYPE[o.dtype] } } })),
      node: this.nodes,
      initializer: [...this.initializers.values()].map((init) => ({
        name: init.name,
        dataType: ONNX_DTYPE[init.dtype],
        dims: init.dims,
        ...storeInitializer(init),
      })),
    };
  }

  opsetImports(): onnxProto.onnx.IOperatorSetIdProto[] {
    const imports: onnxProto.onnx.IOperatorSetIdProto[] = [{ domain: "", version: OPSET.onnx }];
    if (this.usesMicrosoftDomain) imports.push({ domain: "com.microsoft", version: OPSET.microsoft });
    return imports;
  }
}

function encodeValues(data: ArrayLike<number> | bigint[], dtype: DType): Uint8Array {
  const n = data.length;
  switch (dtype) {
    case "float32":
      return new Uint8Array(Float32Array.from(data as ArrayLike<number>).buffer);
    case "float64":
      return new Uint8Array(Float64Array.from(data as ArrayLike<number>).buffer);
    case "int64": {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt((data as ArrayLike<number | bigint>)[i]);
      return new Uint8Array(out.buffer);
    }
    case "int32":
      return new Uint8Array(Int32Array.from(data as ArrayLike<number>).buffer);
    case "float16": {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = floatToHalf((data as ArrayLike<number>)[i]);
      return new Uint8Array(out.buffer);
    }
    case "bool":
    case "uint8":
      return Uint8Array.from(data as ArrayLike<number>);
    case "int8":
      return new Uint8Array(Int8Array.from(data as ArrayLike<number>).buffer);
    default:
      throw new Error(`constants of type ${dtype} are not supported`);
  }
}

