/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the raw data (read tensor by tensor: models/weights/tensor-file.ts).
 */
import { open, writeFile, type FileHandle } from "node:fs/promises";
import { BYTES_PER_ELEMENT, SAFETENSORS_DTYPE, SAFETENSORS_NAME, type DType } from "../graph/dtype.ts";
import { TensorFile, TensorFileError, type TensorInfo } from "./tensor-file.ts";

export type { TensorInfo };

export class SafetensorsError extends TensorFileError {
  constructor(file: string, message: string) {
    super(file, message);
    this.name = "SafetensorsError";
  }
}

const MAX_HEADER = 100 * 1024 * 1024;

export class SafetensorsFile extends TensorFile {
  private constructor(
    path: string,
    handle: FileHandle,
    tensors: Map<string, TensorInfo>,
    readonly metadata: Record<string, string>,
  ) {
    super(path, handle, tensors);
  }

  static async open(path: string): Promise<SafetensorsFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (e) {
      throw new SafetensorsError(path, `cannot open: ${(e as Error).message}`);
    }
    try {
      const { size } = await handle.stat();
      if (size < 8) throw new SafetensorsError(path, "not a safetensors file (shorter than 8 bytes)");
      const head = Buffer.alloc(8);
      await handle.read(head, 0, 8, 0);
      const headerLength = Number(head.readBigUInt64LE(0));
      if (headerLength <= 0 || headerLength > MAX_HEADER || 8 + headerLength > size) {
        throw new SafetensorsError(path, `not a safetensors file (header length ${headerLength}, file size ${size})`);
      }
      const headerBytes = Buffer.alloc(headerLength);
      await handle.read(headerBytes, 0, headerLength, 8);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(headerBytes.toString("utf8"));
      } catch {
        throw new SafetensorsError(path, "not a safetensors file (header is not JSON)");
      }
      const dataStart = 8 + headerLength;
      const tensors = new Map<string, TensorInfo>();
      let metadata: Record<string, string> = {};
      for (const [name, raw] of Object.entries(header)) {
        if (name === "__metadata__") {
          metadata = (raw ?? {}) as Record<string, string>;
          continue;
        }
        const entry = raw as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
        const dtype = entry.dtype ? SAFETENSORS_DTYPE[entry.dtype] : undefined;
        if (!dtype) throw new SafetensorsError(path, `tensor ${name} has unsupported dtype ${entry.dtype}`);
        if (!Array.isArray(entry.shape) || !Array.isArray(entry.data_offsets)) {
          throw new SafetensorsError(path, `tensor ${name} has a malformed header entry`);
        }
        const [b, e] = entry.data_offsets;
        const expected = entry.shape.reduce((a, d) => a * d, 1) * BYTES_PER_ELEMENT[dtype];
        if (e - b !== expected || dataStart + e > size) {
          throw new SafetensorsError(
            path,
            `tensor ${name}: byte range [${b}, ${e}) does not fit shape [${entry.shape}] ${entry.dtype} or the file (truncated?)`,
          );
        }
        tensors.set(name, { name, dtype, shape: entry.shape, begin: dataStart + b, end: dataStart + e });
      }
      return new SafetensorsFile(path, handle, tensors, metadata);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }
}

export type TensorToWrite = { name: string; dtype: DType; shape: number[]; data: ArrayBufferView };
type TensorSpec = { name: string; dtype: DType; shape: number[] };

const byteSize = (s: TensorSpec) => s.shape.reduce((a, d) => a * d, 1) * BYTES_PER_ELEMENT[s.dtype];

/** The 8-byte length and the JSON header for tensors laid out in the given order. */
function encodeHeader(specs: TensorSpec[], metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const s of specs) {
    header[s.name] = { dtype: SAFETENSORS_NAME[s.dtype], shape: s.shape, data_offsets: [offset, offset + byteSize(s)] };
    offset += byteSize(s);
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  return Buffer.concat([len, headerBytes]);
}

/** Writes tensors (in the given order) as one safetensors file. */
export async function writeSafetensors(
  path: string,
  tensors: TensorToWrite[],
  metadata: Record<string, string> = {},
): Promise<void> {
  for (const t of tensors) {
    if (t.data.byteLength !== byteSize(t)) throw new Error(`tensor ${t.name}: ${t.data.byteLength} bytes for shape [${t.shape}] ${t.dtype}`);
  }
  const parts = [encodeHeader(tensors, metadata), ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
  await writeFile(path, Buffer.concat(parts));
}

/**
 * Writes a safetensors file tensor by tensor: the header is written first from the declared shapes, then
 * each tensor's bytes as they are produced, so multi-gigabyte checkpoints never sit in memory.
 */
export class SafetensorsWriter {
  private readonly specs: { name: string; dtype: DType; shape: number[]; bytes: number }[];
  private next = 0;

  private constructor(
    private readonly handle: FileHandle,
    specs: TensorSpec[],
    private position: number,
  ) {
    this.specs = specs.map((s) => ({ ...s, bytes: byteSize(s) }));
  }

  static async create(path: string, specs: TensorSpec[], metadata: Record<string, string> = {}): Promise<SafetensorsWriter> {
    const header = encodeHeader(specs, metadata);
    const handle = await open(path, "w");
    await handle.write(header, 0, header.byteLength, 0);
    return new SafetensorsWriter(handle, specs, header.byteLength);
  }

  /** Appends the next tensor's bytes (tensors must come in the declared order; several calls per tensor are fine). */
  async write(name: string, data: ArrayBufferView): Promise<void> {
    const spec = this.specs[this.next];
    if (!spec || spec.name !== name) throw new Error(`expected tensor ${spec?.name ?? "(none)"}, got ${name}`);
    await this.handle.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 0, data.byteLength, this.position);
    this.position += data.byteLength;
    spec.bytes -= data.byteLength;
    if (spec.bytes < 0) throw new Error(`tensor ${name}: more bytes than its shape holds`);
    if (spec.bytes === 0) this.next++;
  }

  async close(): Promise<void> {
    await this.handle.close();
    const left = this.specs.slice(this.next).filter((s) => s.bytes > 0);
    if (left.length) throw new Error(`tensors not written: ${left.map((s) => s.name).join(", ")}`);
  }
}
