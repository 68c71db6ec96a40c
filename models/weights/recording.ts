/**
 * A weight source that answers every request by remembering it: building a model's graphs against it lists
 * the exact parameters (names and shapes) the definition reads. The tiny-model generator uses this to write
 * random checkpoints of precisely the architecture the converter expects, with no second list of tensors
 * to keep in sync.
 */
import type { InitializerData } from "../graph/builder.ts";
import { BYTES_PER_ELEMENT, convertFloats } from "../graph/dtype.ts";
import type { TensorInfo } from "./safetensors.ts";
import type { WeightTransform, Weights } from "./store.ts";

export class RecordingWeights implements Weights {
  /** Parameter name → shape, in the order the model asked for them. */
  readonly requested = new Map<string, number[]>();

  /**
   * `fill: "random"` gives every tensor deterministic values of a realistic magnitude (norm weights ≈ 1,
   * matrices ≈ 1/√fan_in), so graphs built on it can be run: benchmarks use that for full-size models.
   */
  constructor(
    readonly label: string,
    private readonly fill: "zeros" | "random" = "zeros",
  ) {}

  has(): boolean {
    return true;
  }

  keys(): string[] {
    return [...this.requested.keys()];
  }

  info(key: string, expectedShape?: number[]): TensorInfo {
    if (!expectedShape) throw new Error(`${this.label}: ${key} was asked for without a shape`);
    this.record(key, expectedShape);
    return { name: key, dtype: "float32", shape: expectedShape, begin: 0, end: 0 };
  }

  initializer(key: string, expectedShape: number[] | undefined, t: WeightTransform): InitializerData {
    const shape = this.info(key, expectedShape).shape;
    const dims = t.dims ?? (t.transpose ? [shape.slice(1).reduce((a, b) => a * b, 1), shape[0]] : shape);
    const count = dims.reduce((a, b) => a * b, 1);
    const fill = this.fill;
    return {
      dtype: t.to,
      dims,
      shared: true,
      async *chunks() {
        if (fill === "zeros") {
          yield new Uint8Array(count * BYTES_PER_ELEMENT[t.to]);
          return;
        }
        const values = randomValues(key, shape, count);
        yield convertFloats(new Uint8Array(values.buffer), "float32", t.to);
      },
    };
  }

  markUsed(): void {}

  async float32(key: string, expectedShape?: number[]): Promise<Float32Array> {
    const shape = this.info(key, expectedShape).shape;
    return new Float32Array(shape.reduce((a, b) => a * b, 1));
  }

  private record(key: string, shape: number[]): void {
    const known = this.requested.get(key);
    if (known && known.join() !== shape.join()) {
      throw new Error(`${this.label}: ${key} asked for as [${known}] and as [${shape}]`);
    }
    this.requested.set(key, shape);
  }
}

/** Deterministic per-name values: 1 ± 0.1 for 1-D weights and gammas, ±0.05 biases, ±1/√fan_in matrices. */
function randomValues(key: string, shape: number[], count: number): Float32Array {
  let s = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) s = Math.imul(s ^ key.charCodeAt(i), 0x01000193);
  const norm = shape.length === 1 && (key.endsWith(".weight") || key.endsWith("gamma"));
  const gamma = key.endsWith("gamma");
  const scale = key.endsWith(".bias") ? 0.05 : norm || gamma || key.includes("modulation") ? 0.1 : 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1) || 1);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const u = ((s >>> 0) / 4294967296 - 0.5) * 3.4641016; // unit variance
    out[i] = (norm || gamma ? 1 : 0) + u * scale;
  }
  return out;
}
