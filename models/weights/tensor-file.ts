/**
 * What every checkpoint format reduces to: named tensors, each one contiguous byte range of the file.
 * safetensors stores them that way by design; a `torch.save` zip stores each storage uncompressed, so its
 * tensors are byte ranges too. Reading goes tensor by tensor (or chunk by chunk) with positioned reads, so
 * large checkpoints are never loaded whole.
 */
import type { FileHandle } from "node:fs/promises";
import { BYTES_PER_ELEMENT, toFloat32, type DType } from "../graph/dtype.ts";

export type TensorInfo = {
  name: string;
  dtype: DType;
  shape: number[];
  /** Absolute byte offsets in the file. */
  begin: number;
  end: number;
};

/** A checkpoint that cannot be read; the message starts with the file's path. */
export class TensorFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = "TensorFileError";
  }
}

const CHUNK_BYTES = 32 * 1024 * 1024;

export class TensorFile {
  constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly tensors: Map<string, TensorInfo>,
  ) {}

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new TensorFileError(this.path, `no tensor named ${name}`);
    return t;
  }

  /** The tensor's raw bytes. */
  async read(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    const buf = Buffer.alloc(t.end - t.begin);
    await this.readInto(buf, t.begin);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** The tensor's raw bytes in chunks of at most `chunkBytes` (aligned to whole elements). */
  async *chunks(name: string, chunkBytes = CHUNK_BYTES): AsyncIterable<Uint8Array> {
    const t = this.info(name);
    const step = Math.max(BYTES_PER_ELEMENT[t.dtype], chunkBytes - (chunkBytes % BYTES_PER_ELEMENT[t.dtype]));
    for (let pos = t.begin; pos < t.end; pos += step) {
      const buf = Buffer.alloc(Math.min(step, t.end - pos));
      await this.readInto(buf, pos);
      yield new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
  }

  /** The tensor as float32 values (widening fp16/bf16). */
  async readFloat32(name: string): Promise<Float32Array> {
    const t = this.info(name);
    return toFloat32(await this.read(name), t.dtype);
  }

  private async readInto(buf: Buffer, position: number): Promise<void> {
    await readFully(this.handle, buf, position, this.path);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Fills `buf` from `position`, or fails naming the file when it ends first. */
export async function readFully(handle: FileHandle, buf: Buffer, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesRead } = await handle.read(buf, done, buf.byteLength - done, position + done);
    if (bytesRead === 0) throw new TensorFileError(file, "unexpected end of file (truncated?)");
    done += bytesRead;
  }
}
