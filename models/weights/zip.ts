/**
 * The index of a zip archive whose entries are stored uncompressed, as `torch.save` writes them: read from
 * the central directory at the end of the file (zip64 records included, since real checkpoints pass 4 GB),
 * so that each entry is a byte range that can be read in place. PKWARE APPNOTE.TXT §4.3 gives the layout.
 */
import type { FileHandle } from "node:fs/promises";
import { readFully, TensorFileError } from "./tensor-file.ts";

export type ZipEntry = {
  name: string;
  /** Where the entry's bytes start and how many there are (stored entries only, so no decompression). */
  dataOffset: number;
  size: number;
};

const END_OF_DIRECTORY = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_END_OF_DIRECTORY = 0x06064b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const ZIP64_EXTRA = 0x0001;
const END_RECORD_BYTES = 22;
const MAX_COMMENT = 0xffff;
/** A 32-bit field holding this means "see the zip64 record". */
const SEE_ZIP64 = 0xffffffff;

/** The entries of a stored zip, by name; fails naming `file` for a truncated, compressed or encrypted archive. */
export async function readZipIndex(handle: FileHandle, file: string): Promise<Map<string, ZipEntry>> {
  const fail = (message: string): never => {
    throw new TensorFileError(file, message);
  };
  const u64 = (buf: Buffer, at: number) => {
    const v = buf.readBigUInt64LE(at);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : fail(`a zip offset or size (${v}) is beyond 2^53 (corrupt?)`);
  };
  const read = async (position: number, length: number) => {
    const buf = Buffer.alloc(length);
    await readFully(handle, buf, position, file);
    return buf;
  };
  const { size: fileSize } = await handle.stat();

  // The end-of-central-directory record is the last thing in the file, followed only by a comment.
  const tailStart = Math.max(0, fileSize - END_RECORD_BYTES - MAX_COMMENT);
  const tail = await read(tailStart, fileSize - tailStart);
  let end = -1;
  for (let i = tail.length - END_RECORD_BYTES; i >= 0 && end < 0; i--) if (tail.readUInt32LE(i) === END_OF_DIRECTORY) end = i;
  if (end < 0) fail("not a complete zip archive: no end-of-central-directory record (truncated?)");
  let count = tail.readUInt16LE(end + 10);
  let directorySize = tail.readUInt32LE(end + 12);
  let directoryOffset = tail.readUInt32LE(end + 16);

  // Zip64: a locator just before the record points at a record with 64-bit counts and offsets.
  if (end >= 20 && tail.readUInt32LE(end - 20) === ZIP64_LOCATOR) {
    const record = await read(u64(tail, end - 20 + 8), 56);
    if (record.readUInt32LE(0) !== ZIP64_END_OF_DIRECTORY) fail("the zip64 end-of-central-directory record is missing (corrupt?)");
    count = u64(record, 32);
    directorySize = u64(record, 40);
    directoryOffset = u64(record, 48);
  }
  if (directoryOffset + directorySize > fileSize) fail(`the central directory lies beyond the end of the file (truncated?)`);

  const directory = await read(directoryOffset, directorySize);
  const located: { name: string; localOffset: number; size: number }[] = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > directory.length || directory.readUInt32LE(p) !== DIRECTORY_ENTRY) fail(`central directory entry ${n} is corrupt`);
    const flags = directory.readUInt16LE(p + 8);
    const method = directory.readUInt16LE(p + 10);
    let compressed = directory.readUInt32LE(p + 20);
    let size = directory.readUInt32LE(p + 24);
    const nameLength = directory.readUInt16LE(p + 28);
    const extraLength = directory.readUInt16LE(p + 30);
    const commentLength = directory.readUInt16LE(p + 32);
    let localOffset = directory.readUInt32LE(p + 42);
    const name = directory.toString("utf8", p + 46, p + 46 + nameLength);
    // The zip64 extra field holds, in this order, only the values whose 32-bit fields say SEE_ZIP64.
    const extra = findExtra(directory.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength), ZIP64_EXTRA);
    let q = 0;
    const wide = (v: number) => {
      if (v !== SEE_ZIP64) return v;
      if (!extra || q + 8 > extra.length) return fail(`entry ${name}: a size or offset needs a zip64 field the entry lacks (corrupt?)`);
      q += 8;
      return u64(extra, q - 8);
    };
    size = wide(size);
    compressed = wide(compressed);
    localOffset = wide(localOffset);
    if (flags & 1) fail(`entry ${name} is encrypted`);
    if (method !== 0 || compressed !== size) {
      fail(`entry ${name} is compressed (method ${method}); torch.save stores entries uncompressed, so this is not its output`);
    }
    located.push({ name, localOffset, size });
    p += 46 + nameLength + extraLength + commentLength;
  }

  // The data follows each entry's local header, whose name and extra field (torch pads it to align the data) vary in length.
  const entries = new Map<string, ZipEntry>();
  for (const { name, localOffset, size } of located) {
    const header = await read(localOffset, 30).catch(() => fail(`entry ${name}: its local header lies beyond the end of the file (truncated?)`));
    if (header.readUInt32LE(0) !== LOCAL_HEADER) fail(`entry ${name}: no local header where the directory says (corrupt?)`);
    const dataOffset = localOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    if (dataOffset + size > fileSize) fail(`entry ${name} ends beyond the end of the file (truncated?)`);
    entries.set(name, { name, dataOffset, size });
  }
  return entries;
}

/** The data of extra field `id` in an extra block of (id, length, data) records. */
function findExtra(block: Buffer, id: number): Buffer | undefined {
  for (let p = 0; p + 4 <= block.length; p += 4 + block.readUInt16LE(p + 2)) {
    if (block.readUInt16LE(p) === id) return block.subarray(p + 4, p + 4 + block.readUInt16LE(p + 2));
  }
  return undefined;
}
