/**
 * Denoising checkpoints: what a run needs to continue from a finished step and end bit for bit where an
 * uninterrupted run ends, and the one binary encoding they are stored in (docs/checkpoints.md).
 *
 * A checkpoint holds the steps done, the latent after the last of them, the scheduler's state (its multistep
 * history: schedulers/flow-scheduler.ts `saveState`), the step cache's state when caching is on (step-cache.ts
 * `saveState`), and a fingerprint of everything the trajectory depends on, so a checkpoint written for other
 * settings is refused, never continued.
 *
 * Encoding (version 1), all integers and floats little-endian:
 *   bytes 0–7    magic "WANCKPT\0"
 *   bytes 8–11   u32 format version
 *   bytes 12–15  u32 header length H
 *   H bytes      UTF-8 JSON header: fingerprint, step, total, the scheduler's and step cache's numbers, and the
 *                name and length of every array in payload order (non-finite numbers and −0 as strings)
 *   zero bytes   up to a multiple of 4
 *   payloads     each array as float32 values, in header order
 *   4 bytes      u32 CRC-32 of everything before it, so a torn or damaged file is recognised
 */
import { createHash } from "node:crypto";
import { endianness } from "node:os";
import { crc32 } from "node:zlib";
import type { StateRecord } from "./state-record.ts";

export const CHECKPOINT_FORMAT_VERSION = 1;
const MAGIC = Buffer.from("WANCKPT\0", "latin1");
const PREFIX_BYTES = 16;
const CRC_BYTES = 4;

export type DenoiseCheckpoint = {
  /** `checkpointFingerprint` of the run's settings. */
  fingerprint: string;
  /** Steps of this run finished (1…total). */
  step: number;
  /** Steps of the whole run (from its first step to the last). */
  total: number;
  /** The latent after step `step`. */
  latent: Float32Array;
  scheduler: StateRecord;
  /** The step cache's state; null when the run does not cache steps. */
  stepCache: StateRecord | null;
};

/** The bytes are not a checkpoint this build can read: torn, damaged, or another format version. */
export class CheckpointFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointFormatError";
  }
}

/** A readable checkpoint written for another run (other settings, seed, model, shape or step count). */
export class CheckpointMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointMismatchError";
  }
}

/**
 * SHA-256 of the settings as JSON with sorted keys (undefined members left out), so the same settings give the
 * same fingerprint whatever order they were written in.
 */
export function checkpointFingerprint(settings: Record<string, unknown>): string {
  return createHash("sha256").update(`checkpoint v${CHECKPOINT_FORMAT_VERSION}\n${canonicalJson(settings)}`).digest("hex");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

type Header = {
  fingerprint: string;
  step: number;
  total: number;
  scheduler: Record<string, unknown>;
  stepCache: Record<string, unknown> | null;
  /** [name, length] per payload array, in order; names are "latent", "scheduler.*" and "stepCache.*". */
  arrays: [string, number][];
};

/** JSON cannot hold ±∞, NaN or −0: they travel as strings (the only strings among the numbers). */
const numberToJson = (n: number): number | string => (Number.isFinite(n) && !Object.is(n, -0) ? n : String(Object.is(n, -0) ? "-0" : n));
const numberFromJson = (v: unknown): number => {
  if (typeof v === "number") return v;
  if (v === "Infinity" || v === "-Infinity" || v === "NaN" || v === "-0") return Number(v);
  throw new CheckpointFormatError(`not a number in the header: ${JSON.stringify(v)}`);
};

function valuesToJson(values: StateRecord["values"]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Array.isArray(v) ? v.map(numberToJson) : numberToJson(v)]));
}

function valuesFromJson(json: unknown): StateRecord["values"] {
  if (!json || typeof json !== "object" || Array.isArray(json)) throw new CheckpointFormatError("a state's numbers are not an object");
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, Array.isArray(v) ? v.map(numberFromJson) : numberFromJson(v)]));
}

const HOST_IS_LITTLE_ENDIAN = endianness() === "LE";

export function encodeCheckpoint(cp: DenoiseCheckpoint): Uint8Array {
  const arrays: [string, Float32Array][] = [["latent", cp.latent]];
  for (const [name, a] of Object.entries(cp.scheduler.arrays)) arrays.push([`scheduler.${name}`, a]);
  for (const [name, a] of Object.entries(cp.stepCache?.arrays ?? {})) arrays.push([`stepCache.${name}`, a]);
  const header: Header = {
    fingerprint: cp.fingerprint,
    step: cp.step,
    total: cp.total,
    scheduler: valuesToJson(cp.scheduler.values),
    stepCache: cp.stepCache ? valuesToJson(cp.stepCache.values) : null,
    arrays: arrays.map(([name, a]) => [name, a.length]),
  };
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const payloadStart = align4(PREFIX_BYTES + json.length);
  const size = payloadStart + arrays.reduce((n, [, a]) => n + a.length * 4, 0) + CRC_BYTES;
  const out = Buffer.alloc(size);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(CHECKPOINT_FORMAT_VERSION, 8);
  out.writeUInt32LE(json.length, 12);
  json.copy(out, PREFIX_BYTES);
  let offset = payloadStart;
  for (const [, a] of arrays) {
    if (HOST_IS_LITTLE_ENDIAN) out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    else for (let j = 0; j < a.length; j++) out.writeFloatLE(a[j], offset + 4 * j);
    offset += a.byteLength;
  }
  out.writeUInt32LE(crc32(out.subarray(0, offset)), offset);
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array): DenoiseCheckpoint {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < PREFIX_BYTES + CRC_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CheckpointFormatError("not a denoising checkpoint (no magic number)");
  }
  const version = buf.readUInt32LE(8);
  if (version !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointFormatError(`checkpoint format version ${version}; this build reads version ${CHECKPOINT_FORMAT_VERSION}`);
  }
  const body = buf.length - CRC_BYTES;
  if (crc32(buf.subarray(0, body)) !== buf.readUInt32LE(body)) throw new CheckpointFormatError("the checkpoint is damaged or incomplete (CRC mismatch)");
  const headerLength = buf.readUInt32LE(12);
  if (PREFIX_BYTES + headerLength > body) throw new CheckpointFormatError("the checkpoint header runs past the end");
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength).toString("utf8")) as Header;
  } catch {
    throw new CheckpointFormatError("the checkpoint header is not JSON");
  }
  if (typeof header.fingerprint !== "string" || !Number.isInteger(header.step) || !Number.isInteger(header.total) || !Array.isArray(header.arrays)) {
    throw new CheckpointFormatError("the checkpoint header lacks its fields");
  }
  let offset = align4(PREFIX_BYTES + headerLength);
  const arrays = new Map<string, Float32Array>();
  for (const entry of header.arrays) {
    const [name, length] = Array.isArray(entry) ? entry : [];
    if (typeof name !== "string" || !Number.isInteger(length) || (length as number) < 0 || offset + 4 * (length as number) > body) {
      throw new CheckpointFormatError(`the checkpoint's array ${JSON.stringify(name)} is malformed or runs past the end`);
    }
    const a = new Float32Array(length as number);
    if (HOST_IS_LITTLE_ENDIAN) new Uint8Array(a.buffer).set(buf.subarray(offset, offset + a.byteLength));
    else for (let j = 0; j < a.length; j++) a[j] = buf.readFloatLE(offset + 4 * j);
    arrays.set(name, a);
    offset += a.byteLength;
  }
  if (offset !== body) throw new CheckpointFormatError("the checkpoint has bytes after its last array");
  const latent = arrays.get("latent");
  if (!latent) throw new CheckpointFormatError("the checkpoint has no latent");
  const part = (prefix: string) =>
    Object.fromEntries([...arrays].filter(([n]) => n.startsWith(prefix)).map(([n, a]) => [n.slice(prefix.length), a]));
  return {
    fingerprint: header.fingerprint,
    step: header.step,
    total: header.total,
    latent,
    scheduler: { values: valuesFromJson(header.scheduler), arrays: part("scheduler.") },
    stepCache: header.stepCache === null ? null : { values: valuesFromJson(header.stepCache), arrays: part("stepCache.") },
  };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
