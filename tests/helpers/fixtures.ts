/** The tiny Wan fixtures with goldens from the official code (override the folder with WAN_TINY_FIXTURES). */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SafetensorsFile } from "../../models/weights/safetensors.ts";

export const FIXTURES = process.env.WAN_TINY_FIXTURES ?? path.resolve(import.meta.dirname, "../../../shared/fixtures/wan-tiny");

export function fixture(...parts: string[]): string {
  return path.join(FIXTURES, ...parts);
}

const opened = new Map<string, Promise<SafetensorsFile>>();

/** A goldens file, opened once per test file. */
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

/** Largest absolute difference between two arrays of the same length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
