/**
 * Where the wan-tiny fixtures (tiny models + goldens from the official Wan 2.1 code) live: $WAN_TINY_FIXTURES
 * when set, else shared/fixtures/wan-tiny beside the repository (how the workplace and CI lay it out), else
 * inside it.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SafetensorsFile } from "../../models/weights/safetensors.ts";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export function wanTinyDir(): string {
  const fromEnv = process.env.WAN_TINY_FIXTURES;
  if (fromEnv) return path.resolve(fromEnv);
  const candidates = [
    path.resolve(REPO_ROOT, "../shared/fixtures/wan-tiny"),
    path.resolve(REPO_ROOT, "shared/fixtures/wan-tiny"),
  ];
  return candidates.find((dir) => existsSync(dir)) ?? candidates[0];
}

/** A path inside the fixtures folder, e.g. wanTinyPath("goldens.safetensors"). */
export function wanTinyPath(...parts: string[]): string {
  return path.join(wanTinyDir(), ...parts);
}

/** The T2V goldens (goldens.safetensors); close it when done. */
export function openGoldens(): Promise<SafetensorsFile> {
  return SafetensorsFile.open(wanTinyPath("goldens.safetensors"));
}

/** Splits a stacked [n, ...] tensor into its n rows (views, no copy). */
export function splitRows(data: Float32Array, n: number): Float32Array[] {
  if (data.length % n !== 0) throw new RangeError(`${data.length} values do not split into ${n} rows`);
  const size = data.length / n;
  return Array.from({ length: n }, (_, i) => data.subarray(i * size, (i + 1) * size));
}

/** max |a − b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN; // never let a NaN pass as a small error
    if (d > max) max = d;
  }
  return max;
}
