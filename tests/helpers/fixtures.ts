/**
 * The wan-tiny fixtures (tiny models + goldens from the official Wan 2.1 code), vendored in tests/fixtures/wan-tiny
 * (README there); $WAN_TINY_FIXTURES points elsewhere when set.
 * Plus small comparison helpers for parity tests.
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SafetensorsFile } from "../../models/weights/safetensors.ts";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

function fixturesDir(): string {
  const fromEnv = process.env.WAN_TINY_FIXTURES;
  return fromEnv ? path.resolve(fromEnv) : path.join(REPO_ROOT, "tests", "fixtures", "wan-tiny");
}

export const FIXTURES = fixturesDir();

/** A path inside the fixtures folder, e.g. fixture("official", "config.json"). */
export function fixture(...parts: string[]): string {
  return path.join(FIXTURES, ...parts);
}

const opened = new Map<string, Promise<SafetensorsFile>>();

/** A goldens file (goldens.safetensors by default), opened once per test file. */
export function goldens(file = "goldens.safetensors"): Promise<SafetensorsFile> {
  let f = opened.get(file);
  if (!f) {
    f = SafetensorsFile.open(fixture(file));
    opened.set(file, f);
  }
  return f;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

/** Splits a stacked [n, ...] tensor into its n rows (views, no copy). */
export function splitRows(data: Float32Array, n: number): Float32Array[] {
  if (data.length % n !== 0) throw new RangeError(`${data.length} values do not split into ${n} rows`);
  const size = data.length / n;
  return Array.from({ length: n }, (_, i) => data.subarray(i * size, (i + 1) * size));
}

/** max |a − b| over two equally long arrays; NaN anywhere never passes as a small error. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN;
    if (d > max) max = d;
  }
  return max;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
