/**
 * PyTorch checkpoints (`torch.save` of a state dict, the format Wan-AI ships its VAE, umT5 and CLIP in),
 * read without Python. The file is a zip (torch/serialization.py, `_save`):
 *   <archive>/data.pkl      the state dict, pickled; each tensor names its storage by key (models/weights/pickle.ts)
 *   <archive>/data/<key>    one file per storage: its raw little-endian elements, stored uncompressed
 *   <archive>/byteorder     "little" (absent in files from older torch, which wrote only little-endian)
 * A contiguous tensor is then one byte range of the zip, so the file opens as a TensorFile like safetensors.
 */
import { open, type FileHandle } from "node:fs/promises";
import { BYTES_PER_ELEMENT } from "../graph/dtype.ts";
import { PickleError, TensorRef, unpickle, type PickleValue } from "./pickle.ts";
import { TensorFile, TensorFileError, readFully, type TensorInfo } from "./tensor-file.ts";
import { readZipIndex, type ZipEntry } from "./zip.ts";

/** Opens a `.pth` / `.pt` state dict; fails naming the file (and the tensor or global) on anything else. */
export async function openPth(path: string): Promise<TensorFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (e) {
    throw new TensorFileError(path, `cannot open: ${(e as Error).message}`);
  }
  try {
    return new TensorFile(path, handle, await readTensors(handle, path));
  } catch (e) {
    await handle.close();
    throw e;
  }
}

async function readTensors(handle: FileHandle, file: string): Promise<Map<string, TensorInfo>> {
  const fail: (message: string) => never = (message) => {
    throw new TensorFileError(file, message);
  };
  const magic = Buffer.alloc(4);
  await handle.read(magic, 0, 4, 0);
  if (magic.readUInt32LE(0) !== 0x04034b50) {
    fail(
      magic[0] === 0x80
        ? "a PyTorch checkpoint in the legacy format (torch < 1.6 or _use_new_zipfile_serialization=False); re-save it with torch.save"
        : "not a PyTorch checkpoint (not a zip archive)",
    );
  }
  const entries = await readZipIndex(handle, file);
  const pickles = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) fail(`not a PyTorch checkpoint: expected one <archive>/data.pkl in the zip, found ${pickles.length}`);
  const archive = pickles[0].slice(0, -"data.pkl".length);

  const byteorder = entries.get(`${archive}byteorder`);
  if (byteorder) {
    const order = (await readEntry(handle, byteorder, file)).toString("latin1");
    if (order !== "little") fail(`saved with byte order "${order}"; only little-endian checkpoints are read`);
  }

  const pickled = await readEntry(handle, entries.get(pickles[0])!, file);
  let stateDict: PickleValue;
  try {
    stateDict = unpickle(pickled);
  } catch (e) {
    throw e instanceof PickleError ? new TensorFileError(file, `${pickles[0]} ${e.message}`) : e;
  }
  if (!(stateDict instanceof Map)) fail("the pickle holds no dict of tensors (not a state dict)");

  const tensors = new Map<string, TensorInfo>();
  for (const [name, value] of stateDict) {
    if (typeof name !== "string") fail(`a state-dict key is not a string (${String(name)})`);
    if (!(value instanceof TensorRef)) fail(`${name} is not a tensor (a state dict holds only tensors; is this a training checkpoint?)`);
    tensors.set(name, tensorRange(name, value, archive, entries, fail));
  }
  return tensors;
}

/** A tensor's bytes in the file: its storage entry, from `offset` elements on; only contiguous views are one range. */
function tensorRange(
  name: string,
  t: TensorRef,
  archive: string,
  entries: Map<string, ZipEntry>,
  fail: (message: string) => never,
): TensorInfo {
  const entry = entries.get(`${archive}data/${t.storage.key}`) ?? fail(`tensor ${name}: storage ${t.storage.key} is missing from the zip`);
  const elementBytes = BYTES_PER_ELEMENT[t.storage.dtype];
  if (entry.size < t.storage.numel * elementBytes) {
    fail(`tensor ${name}: storage ${t.storage.key} holds ${entry.size} bytes, fewer than its ${t.storage.numel} ${t.storage.dtype} elements`);
  }
  // Row-major strides; a dimension of size 1 may carry any stride (torch does not normalise them).
  let expected = 1;
  for (let d = t.shape.length - 1; d >= 0; d--) {
    if (t.shape[d] !== 1 && t.strides[d] !== expected) {
      fail(`tensor ${name} is not contiguous (shape [${t.shape}], strides [${t.strides}]); save it with .contiguous()`);
    }
    expected *= t.shape[d];
  }
  const begin = entry.dataOffset + t.offset * elementBytes;
  const end = begin + expected * elementBytes;
  if (t.offset < 0 || end > entry.dataOffset + entry.size) {
    fail(`tensor ${name}: elements [${t.offset}, ${t.offset + expected}) lie outside its storage ${t.storage.key}`);
  }
  return { name, dtype: t.storage.dtype, shape: t.shape, begin, end };
}

async function readEntry(handle: FileHandle, entry: ZipEntry, file: string): Promise<Buffer> {
  const buf = Buffer.alloc(entry.size);
  await readFully(handle, buf, entry.dataOffset, file);
  return buf;
}
