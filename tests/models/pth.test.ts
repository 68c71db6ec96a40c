/**
 * PyTorch `.pth` checkpoints read without Python: the restricted unpickler on hand-built pickles (memo
 * opcodes, refused opcodes and globals), the zip reader (zip64, sparse files past 4 GiB, truncated and
 * compressed archives), the fixtures' `.pth` files holding exactly the tensors of their safetensors twins,
 * the VAE, umT5 (fp32 and bf16) and CLIP converted from `.pth` against the official goldens, and the
 * unsafe pickle refused by the CLI without running anything.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync } from "node:fs";
import { open, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { crc32 } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePixels } from "../../lib/engine/clip.ts";
import { openSession, resolveRuntime, type ResolvedRuntime } from "../../lib/engine/runtime.ts";
import { encodeTokens } from "../../lib/engine/text-encoder.ts";
import { createVaeSessions, decodeLatents, encodeVideo, releaseVaeSessions } from "../../lib/engine/vae.ts";
import { convertModel } from "../../models/convert/convert.ts";
import { convertImageEncoder } from "../../models/convert/image-encoder.ts";
import { discoverSources } from "../../models/convert/sources.ts";
import { umt5KeyFromOfficial } from "../../models/umt5-checkpoint.ts";
import { openTensorFile } from "../../models/weights/open.ts";
import { PickleError, StorageRef, TensorRef, Tuple, unpickle } from "../../models/weights/pickle.ts";
import { openPth } from "../../models/weights/pth.ts";
import { writeSafetensors, type TensorToWrite } from "../../models/weights/safetensors.ts";
import type { TensorFile } from "../../models/weights/tensor-file.ts";
import { readZipIndex } from "../../models/weights/zip.ts";
import { fixture, goldens, maxAbs, maxAbsDiff, tempDir } from "../helpers/fixtures.ts";

const VAE_PTH = fixture("official", "Wan2.1_VAE_tiny.pth");
const UMT5_FP32_PTH = fixture("official", "models_t5_umt5_tiny_fp32.pth");
const UMT5_BF16_PTH = fixture("official", "models_t5_umt5_tiny_bf16.pth");
const CLIP_PTH = fixture("official_i2v", "models_clip_tiny.pth");
const UNSAFE_PTH = fixture("official", "unsafe_pickle.pth");
const TOLERANCE = 1e-4;

const work = tempDir("pth-test");
afterAll(() => rmSync(work, { recursive: true, force: true }));

// --- hand-built pickles ---------------------------------------------------------------------------

const OP = {
  MARK: 0x28, STOP: 0x2e, EMPTY_TUPLE: 0x29, EMPTY_DICT: 0x7d, EMPTY_LIST: 0x5d, TUPLE: 0x74, TUPLE2: 0x86,
  BININT1: 0x4b, BININT2: 0x4d, LONG1: 0x8a, NEWFALSE: 0x89, NONE: 0x4e, BINPUT: 0x71, LONG_BINPUT: 0x72,
  BINGET: 0x68, LONG_BINGET: 0x6a, BINPERSID: 0x51, REDUCE: 0x52, BUILD: 0x62, SETITEM: 0x73, SETITEMS: 0x75,
  APPENDS: 0x65,
} as const;
const proto = () => [0x80, 2];
const str = (s: string) => {
  const b = Buffer.from(s, "utf8");
  const n = Buffer.alloc(4);
  n.writeUInt32LE(b.length);
  return [0x58, ...n, ...b];
};
const global = (module: string, name: string) => [0x63, ...Buffer.from(`${module}\n${name}\n`, "latin1")];
const u32 = (v: number) => [...new Uint8Array(new Uint32Array([v]).buffer)];
const int = (v: number) => (v < 256 ? [OP.BININT1, v] : [OP.BININT2, v & 0xff, v >> 8]);
const ints = (vs: number[]) => [OP.MARK, ...vs.flatMap(int), OP.TUPLE];
const pickle = (...parts: (number | number[])[]) => Uint8Array.from(parts.flat());

type TensorSpec = { name: string; key: string; storage: string; numel: number; offset: number; shape: number[]; strides: number[] };

/** A state dict pickled the way torch.save does it (protocol 2: OrderedDict(), SETITEMS, _rebuild_tensor_v2). */
function stateDictPickle(tensors: TensorSpec[]): Uint8Array {
  return pickle(
    proto(), global("collections", "OrderedDict"), OP.EMPTY_TUPLE, OP.REDUCE, OP.MARK,
    ...tensors.flatMap((t) => [
      str(t.name), global("torch._utils", "_rebuild_tensor_v2"), OP.MARK,
      OP.MARK, str("storage"), global("torch", t.storage), str(t.key), str("cpu"), int(t.numel), OP.TUPLE, OP.BINPERSID,
      int(t.offset), ints(t.shape), ints(t.strides), OP.NEWFALSE,
      global("collections", "OrderedDict"), OP.EMPTY_TUPLE, OP.REDUCE, OP.TUPLE, OP.REDUCE,
    ]),
    OP.SETITEMS, OP.STOP,
  );
}

const refused = (bytes: Uint8Array) => {
  try {
    unpickle(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(PickleError);
    return (e as Error).message;
  }
  throw new Error("the pickle was accepted");
};

describe("restricted unpickler", () => {
  it("reads a state dict: tensor views with storage key, dtype, offset, shape and strides", () => {
    const dict = unpickle(
      stateDictPickle([
        { name: "a.weight", key: "0", storage: "HalfStorage", numel: 6, offset: 0, shape: [2, 3], strides: [3, 1] },
        { name: "b.bias", key: "1", storage: "BFloat16Storage", numel: 300, offset: 290, shape: [10], strides: [1] },
      ]),
    ) as Map<string, TensorRef>;
    expect([...dict.keys()]).toEqual(["a.weight", "b.bias"]);
    expect(dict.get("a.weight")).toEqual(new TensorRef(new StorageRef("0", "float16", 6), 0, [2, 3], [3, 1]));
    expect(dict.get("b.bias")).toEqual(new TensorRef(new StorageRef("1", "bfloat16", 300), 290, [10], [1]));
  });

  it("stores and fetches memo entries (BINPUT/BINGET, LONG_BINPUT/LONG_BINGET) and reads LONG1, lists and BUILD", () => {
    const value = unpickle(
      pickle(
        proto(), OP.EMPTY_DICT, OP.BINPUT, 0,
        str("x"), OP.BINPUT, 1, OP.EMPTY_LIST, OP.MARK, str("y"), OP.LONG_BINPUT, ...u32(70000), OP.BINGET, 1,
        OP.LONG_BINGET, ...u32(70000), OP.LONG1, 5, 0x00, 0x00, 0x00, 0x00, 0x01, OP.LONG1, 1, 0xff, OP.APPENDS, OP.SETITEM,
        OP.EMPTY_DICT, OP.BUILD, OP.STOP,
      ),
    );
    expect(value).toEqual(new Map([["x", ["y", "x", "y", 2 ** 32, -1]]]));
    expect(refused(pickle(proto(), OP.BINGET, 5, OP.STOP))).toMatch(/byte 2: memo entry 5 was never stored/);
  });

  it("refuses every global a state dict does not need, by name, before anything could run", () => {
    const call = (module: string, name: string) => pickle(proto(), global(module, name), str("echo hi"), 0x85, OP.REDUCE, OP.STOP);
    expect(refused(call("builtins", "eval"))).toMatch(/byte 2: global builtins\.eval is not allowed.*nothing was executed/);
    expect(refused(call("posix", "system"))).toMatch(/global posix\.system is not allowed/);
    expect(refused(call("torch", "load"))).toMatch(/global torch\.load is not allowed/);
    // Allowed globals are data here: a storage type is not callable, OrderedDict takes no arguments.
    expect(refused(call("torch", "FloatStorage"))).toMatch(/torch\.FloatStorage cannot be called/);
    expect(refused(call("collections", "OrderedDict"))).toMatch(/OrderedDict called with arguments/);
  });

  it("refuses opcodes a state dict does not use, naming them, and unknown bytes", () => {
    expect(refused(pickle(proto(), 0x69, ...Buffer.from("os\nsystem\n"), OP.STOP))).toMatch(/byte 2: opcode INST \(0x69\) is not allowed/);
    expect(refused(pickle(proto(), str("os"), str("system"), 0x93, OP.STOP))).toMatch(/opcode STACK_GLOBAL \(0x93\)/);
    expect(refused(pickle(proto(), 0xff, OP.STOP))).toMatch(/byte 2: unknown opcode \(0xff\)/);
    expect(refused(pickle([0x80, 4], 0x95, 0, 0, 0, 0, 0, 0, 0, 0))).toMatch(/pickle protocol 4/);
  });

  it("refuses malformed pickles: truncation, a persistent id that is not torch's, a non-tuple argument", () => {
    expect(refused(pickle(proto(), str("abc")).slice(0, 6))).toMatch(/ends in the middle of an opcode/);
    expect(refused(pickle(proto(), OP.NONE))).toMatch(/ends in the middle of an opcode/);
    expect(refused(pickle(proto(), OP.MARK, str("file"), str("x"), OP.TUPLE, OP.BINPERSID, OP.STOP))).toMatch(/persistent id is not torch's/);
    expect(refused(pickle(proto(), global("collections", "OrderedDict"), OP.NONE, OP.REDUCE, OP.STOP))).toMatch(/not a tuple/);
    expect(refused(pickle(proto(), OP.NONE, OP.NONE, OP.STOP))).toMatch(/STOP with 2 values/);
  });

  it("keeps tuples apart from lists", () => {
    expect(unpickle(pickle(proto(), ints([1, 2]), OP.STOP))).toEqual(new Tuple([1, 2]));
  });
});

// --- zip archives --------------------------------------------------------------------------------

type ZipPart = { name: string; data: Uint8Array; method?: number };

/**
 * Writes a zip of stored entries, in zip64 form when asked (every size and offset in zip64 fields, as
 * writers do past 4 GiB), optionally with a hole of `gap` bytes after the first entry (a sparse file).
 */
async function writeZip(file: string, parts: ZipPart[], opts: { zip64?: boolean; gap?: number } = {}): Promise<void> {
  const zip64 = opts.zip64 ?? false;
  const handle = await open(file, "w");
  let pos = 0;
  const put = async (b: Buffer) => {
    await handle.write(b, 0, b.length, pos);
    pos += b.length;
  };
  const wide = (values: number[]) => {
    const b = Buffer.alloc(4 + 8 * values.length);
    b.writeUInt16LE(0x0001, 0);
    b.writeUInt16LE(8 * values.length, 2);
    values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
    return b;
  };
  const directory: Buffer[] = [];
  for (const [i, part] of parts.entries()) {
    if (i === 1) pos += opts.gap ?? 0;
    const name = Buffer.from(part.name);
    const size = part.data.length;
    const crc = crc32(part.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt16LE(part.method ?? 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(zip64 ? 0xffffffff : size, 18);
    local.writeUInt32LE(zip64 ? 0xffffffff : size, 22);
    const localExtra = zip64 ? wide([size, size]) : Buffer.alloc(0);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    const offset = pos;
    await put(Buffer.concat([local, name, localExtra, Buffer.from(part.data)]));
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(45, 4);
    entry.writeUInt16LE(45, 6);
    entry.writeUInt16LE(part.method ?? 0, 10);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(zip64 ? 0xffffffff : size, 20);
    entry.writeUInt32LE(zip64 ? 0xffffffff : size, 24);
    const extra = zip64 ? wide([size, size, offset]) : Buffer.alloc(0);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt16LE(extra.length, 30);
    entry.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    directory.push(Buffer.concat([entry, name, extra]));
  }
  const directoryOffset = pos;
  const directoryBytes = Buffer.concat(directory);
  await put(directoryBytes);
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(parts.length), 24);
    record.writeBigUInt64LE(BigInt(parts.length), 32);
    record.writeBigUInt64LE(BigInt(directoryBytes.length), 40);
    record.writeBigUInt64LE(BigInt(directoryOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(pos), 8);
    locator.writeUInt32LE(1, 16);
    await put(Buffer.concat([record, locator]));
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : parts.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : parts.length, 10);
  end.writeUInt32LE(directoryBytes.length, 12);
  end.writeUInt32LE(zip64 ? 0xffffffff : directoryOffset, 16);
  await put(end);
  await handle.close();
}

/** Every entry of a zip, read through our own index (the fixtures' entries, to re-pack in other forms). */
async function zipParts(file: string): Promise<ZipPart[]> {
  const handle = await open(file, "r");
  try {
    const parts: ZipPart[] = [];
    for (const e of (await readZipIndex(handle, file)).values()) {
      const data = Buffer.alloc(e.size);
      await handle.read(data, 0, e.size, e.dataOffset);
      parts.push({ name: e.name, data });
    }
    return parts;
  } finally {
    await handle.close();
  }
}

/** name → [dtype, shape, SHA-256 of the bytes] of every tensor of an open file, for exact comparisons. */
async function contents(f: TensorFile, rename: (name: string) => string = (n) => n) {
  const out = new Map<string, [string, number[], string]>();
  for (const t of f.tensors.values()) {
    out.set(rename(t.name), [t.dtype, t.shape, createHash("sha256").update(await f.read(t.name)).digest("hex")]);
  }
  return out;
}

async function withFile<T>(file: string, read: (f: TensorFile) => Promise<T>): Promise<T> {
  const f = await openTensorFile(file);
  try {
    return await read(f);
  } finally {
    await f.close();
  }
}

const rejection = async (file: string) => {
  const error = await openPth(file).then(
    (f) => f.close().then(() => undefined),
    (e: Error) => e,
  );
  if (!error) throw new Error(`${file} was accepted`);
  expect(error.message.startsWith(`${file}: `)).toBe(true);
  return error.message;
};

describe("the fixtures' .pth files", () => {
  it("hold exactly the tensors of their safetensors twins (VAE, fp32 umT5 under HF names, CLIP)", async () => {
    const pairs: [string, string, ((n: string) => string)?][] = [
      [VAE_PTH, fixture("official", "wan_2.1_vae_tiny.safetensors")],
      [UMT5_FP32_PTH, fixture("official", "umt5_tiny.safetensors"), umt5KeyFromOfficial],
      [CLIP_PTH, fixture("official_i2v", "clip_vision_tiny.safetensors")],
    ];
    for (const [pth, twin, rename] of pairs) {
      const fromPth = await withFile(pth, (f) => contents(f, rename));
      const fromTwin = await withFile(twin, (f) => contents(f));
      expect(fromPth.size).toBeGreaterThan(20);
      expect(fromPth).toEqual(fromTwin);
    }
  });

  it("read the bf16 umT5 as bfloat16: the fp32 tensors rounded to nearest-even, never reinterpreted", async () => {
    const bf16 = await withFile(UMT5_BF16_PTH, async (f) => {
      const out = new Map<string, Float32Array>();
      for (const t of f.tensors.values()) {
        expect(t.dtype).toBe("bfloat16");
        out.set(t.name, await f.readFloat32(t.name));
      }
      return out;
    });
    const fp32 = await withFile(UMT5_FP32_PTH, async (f) => {
      const out = new Map<string, Float32Array>();
      for (const t of f.tensors.values()) out.set(t.name, await f.readFloat32(t.name));
      return out;
    });
    expect([...bf16.keys()]).toEqual([...fp32.keys()]);
    for (const [name, exact] of fp32) {
      const bits = new Uint32Array(exact.buffer, exact.byteOffset, exact.length);
      const roundedBits = bits.map((b) => (((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16) >>> 0);
      const rounded = new Float32Array(roundedBits.buffer);
      expect(maxAbsDiff(bf16.get(name)!, rounded), name).toBe(0);
    }
  });

  it("read the same tensors from a zip64 archive whose storages lie beyond 4 GiB (a sparse file)", async () => {
    const parts = await zipParts(UMT5_FP32_PTH);
    const expected = await withFile(UMT5_FP32_PTH, (f) => contents(f));
    const plain64 = path.join(work, "zip64.pth");
    await writeZip(plain64, parts, { zip64: true });
    expect(await withFile(plain64, (f) => contents(f))).toEqual(expected);

    const beyond = path.join(work, "beyond-4gib.pth");
    await writeZip(beyond, parts, { zip64: true, gap: 2 ** 32 + 4096 });
    expect(statSync(beyond).size).toBeGreaterThan(2 ** 32);
    await withFile(beyond, async (f) => {
      expect(Math.min(...[...f.tensors.values()].map((t) => t.begin))).toBeGreaterThan(2 ** 32);
      expect(await contents(f)).toEqual(expected);
    });
    rmSync(beyond);
  });

  it("name the file and the problem: truncated, compressed, legacy, big-endian, non-contiguous, not a state dict", async () => {
    const truncated = path.join(work, "truncated.pth");
    copyFileSync(UMT5_FP32_PTH, truncated);
    truncateSync(truncated, Math.floor(statSync(truncated).size / 2));
    expect(await rejection(truncated)).toMatch(/no end-of-central-directory record \(truncated\?\)/);

    const cut = path.join(work, "cut-storage.pth");
    const parts = await zipParts(UMT5_FP32_PTH);
    await writeZip(cut, parts);
    // Cut the archive inside the last storage but keep its directory: the entry's end is past the file's.
    const bytes = readFileSync(cut);
    const index = await open(cut, "r").then(async (h) => {
      const e = await readZipIndex(h, cut);
      await h.close();
      return e;
    });
    const last = [...index.values()].sort((a, b) => b.dataOffset - a.dataOffset)[0];
    const tail = bytes.subarray(last.dataOffset + last.size);
    await writeFile(cut, Buffer.concat([bytes.subarray(0, last.dataOffset + 1), tail]));
    expect(await rejection(cut)).toMatch(/(truncated\?|corrupt)/);

    const compressed = path.join(work, "compressed.pth");
    await writeZip(compressed, parts.map((p) => ({ ...p, method: p.name.endsWith("data/3") ? 8 : 0 })));
    expect(await rejection(compressed)).toMatch(/entry models_t5_umt5_tiny_fp32\/data\/3 is compressed \(method 8\)/);

    const legacy = path.join(work, "legacy.pth");
    await writeFile(legacy, pickle(proto(), OP.NONE, OP.STOP));
    expect(await rejection(legacy)).toMatch(/legacy format/);

    const transposed = path.join(work, "transposed.pth");
    const pkl = stateDictPickle([{ name: "w", key: "0", storage: "FloatStorage", numel: 6, offset: 0, shape: [2, 3], strides: [1, 2] }]);
    await writeZip(transposed, [{ name: "t/data.pkl", data: pkl }, { name: "t/data/0", data: new Uint8Array(24) }]);
    expect(await rejection(transposed)).toMatch(/tensor w is not contiguous \(shape \[2,3\], strides \[1,2\]\)/);

    const missing = path.join(work, "missing-storage.pth");
    await writeZip(missing, [{ name: "t/data.pkl", data: pkl }]);
    expect(await rejection(missing)).toMatch(/tensor w: storage 0 is missing from the zip/);

    const bigEndian = path.join(work, "big-endian.pth");
    await writeZip(bigEndian, [{ name: "t/data.pkl", data: pkl }, { name: "t/byteorder", data: Buffer.from("big") }]);
    expect(await rejection(bigEndian)).toMatch(/byte order "big"; only little-endian/);

    const nested = path.join(work, "training-checkpoint.pth");
    const wrapped = pickle(proto(), OP.EMPTY_DICT, str("state_dict"), OP.EMPTY_DICT, OP.SETITEM, OP.STOP);
    await writeZip(nested, [{ name: "t/data.pkl", data: wrapped }]);
    expect(await rejection(nested)).toMatch(/state_dict is not a tensor \(a state dict holds only tensors/);

    const short = path.join(work, "short-storage.pth");
    const view = stateDictPickle([{ name: "w", key: "0", storage: "FloatStorage", numel: 6, offset: 4, shape: [3], strides: [1] }]);
    await writeZip(short, [{ name: "t/data.pkl", data: view }, { name: "t/data/0", data: new Uint8Array(24) }]);
    expect(await rejection(short)).toMatch(/tensor w: elements \[4, 7\) lie outside its storage 0/);
  });

  it("are refused when the pickle names a global a state dict does not need", async () => {
    expect(await rejection(UNSAFE_PTH)).toMatch(/unsafe_pickle\/data\.pkl byte 46: global posix\.system is not allowed/);
  });
});

describe("models convert from .pth, against the official goldens", () => {
  let runtime: ResolvedRuntime;
  beforeAll(async () => {
    runtime = await resolveRuntime({ executionProviders: ["cpu"], threads: 0 });
  });

  it("recognises each .pth by its tensor names, and prefers safetensors twins in a folder", async () => {
    const kinds = async (source: string) => (await discoverSources(source)).map((s) => [s.kind, s.layout, path.basename(s.files[0])]);
    expect(await kinds(VAE_PTH)).toEqual([["vae", "official", "Wan2.1_VAE_tiny.pth"]]);
    expect(await kinds(UMT5_BF16_PTH)).toEqual([["textEncoder", "official", "models_t5_umt5_tiny_bf16.pth"]]);
    expect(await kinds(CLIP_PTH)).toEqual([["imageEncoder", "official", "models_clip_tiny.pth"]]);
    expect((await kinds(fixture("official"))).map((k) => k[2]).sort()).toEqual(
      ["umt5_tiny.safetensors", "wan2.1_t2v_tiny.safetensors", "wan_2.1_vae_tiny.safetensors"],
    );
    // Without safetensors twins, an official release folder's .pth files are taken.
    const release = path.join(work, "release");
    mkdirSync(release);
    for (const f of [VAE_PTH, UMT5_FP32_PTH, fixture("official", "wan2.1_t2v_tiny.safetensors")]) copyFileSync(f, path.join(release, path.basename(f)));
    // Its tokenizers: umT5's under google/, and (I2V repos) XLM-RoBERTa's for CLIP's unused text tower, here in a
    // folder that sorts first, so only the umT5 rule picks the right one.
    for (const dir of ["google/umt5-xxl", "clip/xlm-roberta-large"]) {
      mkdirSync(path.join(release, dir), { recursive: true });
      await writeFile(path.join(release, dir, "tokenizer.json"), "{}");
    }
    const found = await discoverSources(release);
    expect(found.map((s) => path.basename(s.files[0])).sort()).toEqual(
      ["Wan2.1_VAE_tiny.pth", "models_t5_umt5_tiny_fp32.pth", "wan2.1_t2v_tiny.safetensors"],
    );
    expect(found.find((s) => s.kind === "textEncoder")?.tokenizerDir).toBe(path.join(release, "google", "umt5-xxl"));
  });

  it("VAE: encodes vae_encA and decodes vae_decA within 1e-4", async () => {
    const out = path.join(work, "vae");
    const m = await convertModel({ source: VAE_PTH, outDir: out, precision: "fp32" });
    const G = await goldens();
    const sessions = await createVaeSessions(out, m.components.vae!.files, runtime);
    try {
      const [, T, H, W] = G.info("vae_encA_video").shape;
      const latent = await encodeVideo(sessions, await G.readFloat32("vae_encA_video"), T, H, W);
      const encodeErr = maxAbsDiff(latent, await G.readFloat32("vae_encA_mean_normalized"));

      const [, F, h, w] = G.info("vae_decA_latent_normalized").shape;
      const [, , VH, VW] = G.info("vae_decA_video").shape;
      const chunks: { frames: Float32Array; t: number }[] = [];
      for await (const chunk of decodeLatents(sessions, await G.readFloat32("vae_decA_latent_normalized"), F, h, w)) {
        chunks.push({ frames: chunk.frames.slice(), t: chunk.t });
      }
      // Chunks are [3, t, H, W]; the golden is [3, T, H, W]: gather each channel's frames.
      const video = await G.readFloat32("vae_decA_video");
      const plane = VH * VW;
      const total = chunks.reduce((a, c) => a + c.t, 0);
      const mine = new Float32Array(video.length);
      let t0 = 0;
      for (const { frames, t } of chunks) {
        for (let ch = 0; ch < 3; ch++) mine.set(frames.subarray(ch * t * plane, (ch + 1) * t * plane), (ch * total + t0) * plane);
        t0 += t;
      }
      const decodeErr = maxAbsDiff(mine, video);
      console.log(`[pth vae] encA max abs err ${encodeErr.toExponential(2)}, decA ${decodeErr.toExponential(2)}`);
      expect(encodeErr).toBeLessThanOrEqual(TOLERANCE);
      expect(decodeErr).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      await releaseVaeSessions(sessions);
    }
  });

  /** Converts a umT5 file and runs both golden cases: the outputs, and the goldens they should match. */
  async function umt5Outputs(file: string, name: string): Promise<{ got: Float32Array[]; ref: Float32Array[] }> {
    const out = path.join(work, name);
    const m = await convertModel({ source: file, outDir: out, precision: "fp32" });
    const entry = m.components.textEncoder!;
    const session = await openSession(path.join(out, entry.file), runtime);
    const G = await goldens();
    const got: Float32Array[] = [];
    const ref: Float32Array[] = [];
    try {
      for (const c of [1, 2]) {
        const ids = new BigInt64Array((await G.read(`t5_case${c}_ids`)).slice().buffer);
        const mask = new BigInt64Array((await G.read(`t5_case${c}_mask`)).slice().buffer);
        const valid = mask.reduce((n, v) => n + Number(v), 0);
        got.push((await encodeTokens(session, ids, valid, entry.config)).hidden);
        ref.push(await G.readFloat32(`t5_case${c}_hidden_trimmed`));
      }
    } finally {
      await session.release();
    }
    return { got, ref };
  }
  const worst = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((x, i) => maxAbsDiff(x, b[i])));

  it("umT5 fp32 (official t5.py names): both golden cases within 1e-4", async () => {
    const { got, ref } = await umt5Outputs(UMT5_FP32_PTH, "umt5-fp32");
    const err = worst(got, ref);
    console.log(`[pth umt5 fp32] max abs err ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(TOLERANCE);
  });

  /**
   * bf16: the file holds the fp32 weights rounded to bfloat16 (8 significant bits, so each weight moves by up
   * to 2⁻⁹ of itself; checked bit for bit above), and conversion widens them to fp32 exactly. So the bf16
   * model must equal, to fp32 round-off (1e-5), the fp32 model with its weights rounded the same way, written
   * as a safetensors file here; that is the strict check. Against the goldens (computed with unrounded
   * weights) the rounding alone moves the tiny random model's output by 3.6 % of its largest magnitude
   * (measured, and the same for the rounded twin): random weights and peaked attention amplify it. The 5 %
   * bar is that measurement with a margin; a misread (bf16 taken as fp16, a wrong tensor) is far outside it.
   */
  const BF16_REL_TOL = 5e-2;

  it("umT5 bf16 (as models_t5_umt5-xxl-enc-bf16.pth ships): equals the fp32 weights rounded to bf16, and near the goldens", async () => {
    const twin = path.join(work, "umt5_rounded_to_bf16.safetensors");
    const tensors = await withFile(UMT5_FP32_PTH, async (f) => {
      const out: TensorToWrite[] = [];
      for (const t of f.tensors.values()) {
        const bits = new Uint32Array((await f.readFloat32(t.name)).buffer);
        const rounded = bits.map((b) => (((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16) >>> 0);
        out.push({ name: t.name, dtype: "float32", shape: t.shape, data: new Float32Array(rounded.buffer) });
      }
      return out;
    });
    await writeSafetensors(twin, tensors);
    const bf16 = await umt5Outputs(UMT5_BF16_PTH, "umt5-bf16");
    const rounded = await umt5Outputs(twin, "umt5-rounded");
    const twinErr = worst(bf16.got, rounded.got);
    const err = worst(bf16.got, bf16.ref);
    const scale = Math.max(...bf16.ref.map(maxAbs));
    console.log(
      `[pth umt5 bf16] vs rounded fp32 twin ${twinErr.toExponential(2)}; vs goldens ${err.toExponential(2)} ` +
        `(${(err / scale).toExponential(2)} of the output scale ${scale.toFixed(2)}; twin ${(worst(rounded.got, rounded.ref) / scale).toExponential(2)})`,
    );
    expect(twinErr).toBeLessThanOrEqual(1e-5);
    expect(err / scale).toBeLessThanOrEqual(BF16_REL_TOL);
    expect(err).toBeGreaterThan(TOLERANCE); // the weights really are rounded: read as fp32 they would match within 1e-4
  });

  it("CLIP (official visual.* names): clip_fea from clip_pixels within 1e-4", async () => {
    const [src] = await discoverSources(CLIP_PTH);
    // The tiny tower's 8-wide heads cannot be inferred from shapes (ViT-H/14's 80-wide can): pass its config.
    const config = JSON.parse(readFileSync(fixture("official_i2v", "official_configs_image_encoder.json"), "utf8"));
    const out = path.join(work, "clip");
    mkdirSync(out);
    const entry = await convertImageEncoder({ ...src, config }, out, { precision: "fp32" });
    const session = await openSession(path.join(out, entry.file), runtime);
    try {
      const G = await goldens("goldens_clip.safetensors");
      const got = await encodePixels(session, await G.readFloat32("clip_pixels"));
      const err = maxAbsDiff(got.features, await G.readFloat32("clip_fea"));
      console.log(`[pth clip] clip_fea max abs err ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      await session.release();
    }
  });

  it("the CLI refuses unsafe_pickle.pth naming the global, and nothing runs (no unsafe-pickle-ran in its cwd)", async () => {
    const cwd = path.join(work, "unsafe-cwd");
    mkdirSync(cwd);
    const tsx = path.resolve("node_modules/.bin/tsx");
    const result = await promisify(execFile)(tsx, [path.resolve("cli/models.ts"), "convert", UNSAFE_PTH, "--out", "out"], { cwd }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(result?.code).toBe(1);
    expect(result?.stderr).toContain(`error: ${UNSAFE_PTH}: unsafe_pickle/data.pkl byte 46: global posix.system is not allowed`);
    expect(existsSync(path.join(cwd, "unsafe-pickle-ran"))).toBe(false);
    expect(existsSync(path.join(cwd, "out", "manifest.json"))).toBe(false);
  });
});
