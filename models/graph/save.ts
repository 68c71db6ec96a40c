/**
 * Writes a GraphBuilder as an ONNX model file plus one external-data file. Initializers are streamed into
 * the data file one at a time; small ones stay inline. Several graphs built from the same weights (the
 * VAE's first-chunk and step graphs) can share one data file, so each weight is stored once.
 */
import { open, writeFile, type FileHandle } from "node:fs/promises";
import path from "node:path";
import onnxProto from "onnx-proto";
import { IR_VERSION, type GraphBuilder, type Initializer } from "./builder.ts";

const { onnx } = onnxProto;

/** Initializers at least this large are aligned in the data file to page granularity (for memory mapping). */
const PAGE_ALIGN_FROM = 64 * 1024;
const PAGE = 64 * 1024;
const SMALL_ALIGN = 64;

export class ExternalDataFile {
  private handle: FileHandle | undefined;
  private size = 0;
  private readonly written = new Map<string, { offset: number; length: number }>();

  /** `file` is the data file's name, relative to the folder of the models that reference it. */
  constructor(
    readonly dir: string,
    readonly file: string,
  ) {}

  get bytesWritten(): number {
    return this.size;
  }

  async write(init: Initializer): Promise<{ offset: number; length: number }> {
    // Only checkpoint weights are shared between graphs; constants of different graphs may share a name.
    const key = init.shared ? `${init.name}|${init.dtype}|${init.dims.join(",")}` : undefined;
    const done = key ? this.written.get(key) : undefined;
    if (done) return done;
    this.handle ??= await open(path.join(this.dir, this.file), "w");
    const align = init.byteLength >= PAGE_ALIGN_FROM ? PAGE : SMALL_ALIGN;
    const offset = Math.ceil(this.size / align) * align;
    let position = offset;
    for await (const chunk of init.chunks()) {
      await this.handle.write(chunk, 0, chunk.byteLength, position);
      position += chunk.byteLength;
    }
    const length = position - offset;
    if (length !== init.byteLength) {
      throw new Error(`initializer ${init.name}: expected ${init.byteLength} bytes, got ${length}`);
    }
    this.size = position;
    const entry = { offset, length };
    if (key) this.written.set(key, entry);
    return entry;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}

export type SaveOptions = {
  /** Folder of the model. */
  dir: string;
  /** Model file name, e.g. "transformer.onnx". */
  file: string;
  /** Where initializers go; by default `<file>.data` beside the model, closed after saving. */
  data?: ExternalDataFile;
  /** Initializers smaller than this stay inside the model file. */
  inlineBelowBytes?: number;
  /** Called after each initializer is written. */
  onInitializer?: (init: Initializer) => void;
  docString?: string;
};

export async function saveGraph(g: GraphBuilder, opts: SaveOptions): Promise<{ bytes: number }> {
  const data = opts.data ?? new ExternalDataFile(opts.dir, `${opts.file}.data`);
  const inlineBelow = opts.inlineBelowBytes ?? 1024;
  const stored = new Map<string, Pick<onnxProto.onnx.ITensorProto, "rawData" | "dataLocation" | "externalData">>();
  for (const init of g.initializers.values()) {
    if (init.byteLength < inlineBelow) {
      const parts: Uint8Array[] = [];
      for await (const chunk of init.chunks()) parts.push(chunk);
      stored.set(init.name, { rawData: Buffer.concat(parts) });
    } else {
      const { offset, length } = await data.write(init);
      stored.set(init.name, {
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: "location", value: data.file },
          { key: "offset", value: String(offset) },
          { key: "length", value: String(length) },
        ],
      });
    }
    opts.onInitializer?.(init);
  }
  if (!opts.data) await data.close();
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: "wan-studio",
    producerVersion: "0.1.0",
    docString: opts.docString,
    opsetImport: g.opsetImports(),
    graph: g.toGraphProto((init) => stored.get(init.name)!),
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  await writeFile(path.join(opts.dir, opts.file), bytes);
  return { bytes: bytes.byteLength };
}

/** The whole model as bytes with every initializer inline (for small graphs built at run time). */
export async function serializeInline(g: GraphBuilder): Promise<Uint8Array> {
  const stored = new Map<string, Pick<onnxProto.onnx.ITensorProto, "rawData">>();
  for (const init of g.initializers.values()) {
    const parts: Uint8Array[] = [];
    for await (const chunk of init.chunks()) parts.push(chunk);
    stored.set(init.name, { rawData: Buffer.concat(parts) });
  }
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: "wan-studio",
    opsetImport: g.opsetImports(),
    graph: g.toGraphProto((init) => stored.get(init.name)!),
  });
  return onnx.ModelProto.encode(model).finish();
}
