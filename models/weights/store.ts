/**
 * A checkpoint seen through the names a model definition uses. It spans one or more weight files
 * (safetensors shards, or a PyTorch `.pth`), maps each stored key to the model's canonical key (e.g.
 * Diffusers → official Wan names), checks every shape the model asks for, and records which tensors were
 * used so that unexpected ones are reported by name.
 */
import path from "node:path";
import { convertFloats, isFloat, type DType } from "../graph/dtype.ts";
import type { InitializerData } from "../graph/builder.ts";
import { quantizeBlockwise, QUANT_BLOCK, type QuantizedWeight } from "./quantize.ts";
import { openTensorFile } from "./open.ts";
import type { TensorFile, TensorInfo } from "./tensor-file.ts";

export class WeightError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WeightError";
  }
}

type Entry = TensorInfo & { file: TensorFile; storedName: string };

/**
 * A change to a tensor's values, made in float32 when the converter reads the tensor and before the cast to
 * the graph's element type (a merged LoRA, models/convert/lora.ts): checkpoints stay untouched on disk and
 * conversion still holds one tensor at a time.
 */
export type WeightPatch = (values: Float32Array) => Promise<void>;

export type WeightTransform = {
  /** Element type to store in the graph. */
  to: DType;
  /** View the tensor as 2-D [rows, cols] with rows = dims[0] and transpose it (PyTorch Linear [out, in] → [in, out]). */
  transpose?: boolean;
  /** Dims of the initializer (defaults to the stored shape, transposed when `transpose`); must hold as many elements. */
  dims?: number[];
};

/** What model definitions read weights through (a checkpoint, or a recorder listing the parameters). */
export interface Weights {
  readonly label: string;
  has(key: string): boolean;
  keys(): string[];
  info(key: string, expectedShape?: number[]): TensorInfo;
  initializer(key: string, expectedShape: number[] | undefined, t: WeightTransform): InitializerData;
  float32(key: string, expectedShape?: number[]): Promise<Float32Array>;
  /** Records that the model reads `key` (for reads that happen later, when the graph is saved). */
  markUsed(key: string): void;
}

/**
 * The two initializers of a block-quantized Linear weight [out, in] (models/weights/quantize.ts), computed
 * from one read of the tensor: the bytes are quantized when the first of the two is written and dropped
 * after the second, so only one tensor is in memory at a time.
 */
export function quantizedInitializers(
  weights: Weights,
  key: string,
  shape: [number, number],
): { blob: InitializerData; scales: InitializerData } {
  const [N, K] = shape;
  weights.info(key, shape);
  weights.markUsed(key);
  const blocks = Math.ceil(K / QUANT_BLOCK);
  let pending: Promise<QuantizedWeight> | undefined;
  let taken = 0;
  const quantized = () => {
    pending ??= weights.float32(key, shape).then((w) => quantizeBlockwise(w, N, K));
    const result = pending;
    if (++taken === 2) pending = undefined;
    return result;
  };
  return {
    blob: {
      dtype: "uint8",
      dims: [N, blocks, QUANT_BLOCK],
      shared: true,
      async *chunks() {
        yield (await quantized()).blob;
      },
    },
    scales: {
      dtype: "float32",
      dims: [N * blocks],
      shared: true,
      async *chunks() {
        const q = await quantized();
        yield new Uint8Array(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength);
      },
    },
  };
}

export class WeightStore implements Weights {
  readonly used = new Set<string>();
  private readonly patches = new Map<string, WeightPatch[]>();

  private constructor(
    /** What the weights are, for messages ("transformer", "vae", …). */
    readonly label: string,
    private readonly entries: Map<string, Entry>,
    readonly files: TensorFile[],
  ) {}

  /**
   * Opens weight files (safetensors or `.pth`) as one store. `rename` maps a stored key to the canonical key (return
   * undefined to ignore a tensor that is not part of the model, e.g. a tokenizer blob).
   */
  static async open(
    label: string,
    paths: string[],
    rename: (storedKey: string) => string | undefined = (k) => k,
  ): Promise<WeightStore> {
    const files: TensorFile[] = [];
    const entries = new Map<string, Entry>();
    try {
      for (const p of paths) {
        const file = await openTensorFile(p);
        files.push(file);
        for (const info of file.tensors.values()) {
          const key = rename(info.name);
          if (key === undefined) continue;
          const previous = entries.get(key);
          if (previous) {
            throw new WeightError(
              `${label}: tensor ${key} appears twice (${describe(previous)} and ${info.name} in ${path.basename(p)})`,
            );
          }
          entries.set(key, { ...info, name: key, file, storedName: info.name });
        }
      }
    } catch (e) {
      await Promise.all(files.map((f) => f.close()));
      throw e;
    }
    return new WeightStore(label, entries, files);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Shape and dtype of a tensor, checking the expected shape when given. */
  info(key: string, expectedShape?: number[]): TensorInfo {
    const e = this.entries.get(key);
    if (!e) throw new WeightError(`${this.label}: missing tensor ${key}`);
    if (expectedShape && (e.shape.length !== expectedShape.length || e.shape.some((d, i) => d !== expectedShape[i]))) {
      throw new WeightError(
        `${this.label}: tensor ${key} (${describe(e)}) has shape [${e.shape}], expected [${expectedShape}]`,
      );
    }
    if (!isFloat(e.dtype)) throw new WeightError(`${this.label}: tensor ${key} has dtype ${e.dtype}, expected a float type`);
    return e;
  }

  /** Lazily converted bytes of one tensor for the graph writer. */
  initializer(key: string, expectedShape: number[] | undefined, t: WeightTransform): InitializerData {
    const e = this.info(key, expectedShape) as Entry;
    this.used.add(key);
    const count = e.shape.reduce((a, b) => a * b, 1);
    const stored = t.transpose ? [e.shape.slice(1).reduce((a, b) => a * b, 1), e.shape[0]] : e.shape;
    const dims = t.dims ?? stored;
    if (dims.reduce((a, b) => a * b, 1) !== count) {
      throw new Error(`${this.label}: ${key} cannot be viewed as [${dims}]`);
    }
    const whole = () => this.whole(e);
    return {
      dtype: t.to,
      dims,
      shared: true,
      chunks:
        t.transpose || this.patches.has(key)
          ? async function* () {
              const { bytes, dtype } = await whole();
              const converted = convertFloats(bytes, dtype, t.to);
              if (t.transpose) yield transpose2d(converted, e.shape[0], count / e.shape[0], t.to === "float32" ? 4 : 2);
              else yield converted;
            }
          : async function* () {
              for await (const chunk of e.file.chunks(e.storedName)) yield convertFloats(chunk, e.dtype, t.to);
            },
    };
  }

  /** A tensor's values as float32 (for weights the converter derives from others). */
  async float32(key: string, expectedShape?: number[]): Promise<Float32Array> {
    const e = this.info(key, expectedShape) as Entry;
    this.used.add(key);
    return this.patches.has(key) ? this.patched(e) : e.file.readFloat32(e.storedName);
  }

  /** Changes a tensor's values whenever it is read (see WeightPatch); patches apply in the order they were added. */
  patch(key: string, patch: WeightPatch): void {
    this.info(key);
    this.patches.set(key, [...(this.patches.get(key) ?? []), patch]);
  }

  /** One tensor's bytes as stored, or as patched float32 values. */
  private async whole(e: Entry): Promise<{ bytes: Uint8Array; dtype: DType }> {
    if (!this.patches.has(e.name)) return { bytes: await e.file.read(e.storedName), dtype: e.dtype };
    const values = await this.patched(e);
    return { bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength), dtype: "float32" };
  }

  private async patched(e: Entry): Promise<Float32Array> {
    // readFloat32 returns a fresh buffer, so the patches may write into it.
    const values = await e.file.readFloat32(e.storedName);
    for (const patch of this.patches.get(e.name) ?? []) await patch(values);
    return values;
  }

  markUsed(key: string): void {
    this.used.add(key);
  }

  /** Keys present in the checkpoint that the model never asked for. */
  unused(): string[] {
    return this.keys().filter((k) => !this.used.has(k));
  }

  /** Throws naming the unexpected tensors, if any. */
  assertAllUsed(): void {
    const extra = this.unused();
    if (extra.length) {
      const shown = extra.slice(0, 8).map((k) => `${k} (${describe(this.entries.get(k)!)})`);
      throw new WeightError(
        `${this.label}: unexpected tensor${extra.length > 1 ? "s" : ""} ${shown.join(", ")}${
          extra.length > 8 ? ` and ${extra.length - 8} more` : ""
        } — the file does not match this architecture`,
      );
    }
  }

  storedName(key: string): string | undefined {
    return this.entries.get(key)?.storedName;
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

function describe(e: Entry): string {
  const where = path.basename(e.file.path);
  return e.storedName === e.name ? where : `${e.storedName} in ${where}`;
}

function transpose2d(input: Uint8Array, rows: number, cols: number, elementBytes: number): Uint8Array {
  const src = input.byteOffset % elementBytes === 0 ? input : input.slice();
  const out = new Uint8Array(src.byteLength);
  if (elementBytes === 4) {
    const a = new Uint32Array(src.buffer, src.byteOffset, rows * cols);
    const b = new Uint32Array(out.buffer);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) b[c * rows + r] = a[r * cols + c];
  } else {
    const a = new Uint16Array(src.buffer, src.byteOffset, rows * cols);
    const b = new Uint16Array(out.buffer);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) b[c * rows + r] = a[r * cols + c];
  }
  return out;
}
