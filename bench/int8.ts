/**
 * `dit-int8`, a stage of `npm run bench`: the mid-size DiT (dim 768, 12 layers; bench/run.ts MID_DIT) from one
 * random fp16 checkpoint, converted by the converter to fp32, `int8` (8-bit weights, float32 compute) and
 * `int8-compute` (8-bit weights, MatMulNBits accuracy_level 4: int8 activations and int32 accumulation, the
 * VNNI / AVX-512 path), then one forward each on latent [16, 5, 30, 52]: seconds (median of 3 after a warm-up)
 * and the error of each int8 form against fp32 on the same input (relative L2 and max |Δ| / max |fp32|).
 * With `--short`: dim 256, 2 layers, latent [16, 2, 12, 20].
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { DiTRunner } from "../lib/engine/dit.ts";
import { gaussianNoise } from "../lib/engine/noise.ts";
import { openSession, type ResolvedRuntime } from "../lib/engine/runtime.ts";
import { convertModel } from "../models/convert/convert.ts";
import { readManifest } from "../models/manifest.ts";
import type { Precision } from "../models/nn.ts";
import type { WanDiTConfig } from "../models/wan/dit.ts";
import { writeRandomDiTCheckpoint } from "./random-checkpoint.ts";
import type { Row } from "./recipe.ts";

const PRECISIONS: Precision[] = ["fp32", "int8", "int8-compute"];

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** ‖a − b‖ / ‖b‖ and max |a − b| / max |b|. */
function errors(a: Float32Array, b: Float32Array): { relL2: number; relMax: number } {
  let num = 0;
  let den = 0;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
    maxDiff = Math.max(maxDiff, Math.abs(d));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  return { relL2: Math.sqrt(num / den), relMax: maxDiff / maxRef };
}

export async function stageDitInt8(o: { work: string; runtime: ResolvedRuntime; mid: WanDiTConfig; short: boolean }): Promise<Row> {
  const cfg = o.short ? { ...o.mid, dim: 256, ffnDim: 1024, numHeads: 2, numLayers: 2 } : o.mid;
  const [C, F, H, W] = o.short ? [16, 2, 12, 20] : [16, 5, 30, 52];
  const root = path.join(o.work, `dit-int8-${cfg.dim}x${cfg.numLayers}`);
  const checkpoint = path.join(root, "checkpoint", "dit_fp16.safetensors");
  if (!existsSync(checkpoint)) await writeRandomDiTCheckpoint(checkpoint, cfg);

  const latent = gaussianNoise(1, C * F * H * W);
  const context = { data: gaussianNoise(2, 128 * cfg.textDim).map((v) => 0.2 * v), rows: 128 };
  const row: Row = { dit: `dim ${cfg.dim}, ${cfg.numLayers} layers`, latent: `${C},${F},${H},${W}` };
  let reference: Float32Array | undefined;
  for (const precision of PRECISIONS) {
    const dir = path.join(root, precision);
    if (!existsSync(path.join(dir, "manifest.json"))) await convertModel({ source: checkpoint, outDir: dir, precision });
    const manifest = await readManifest(dir);
    const session = await openSession(path.join(dir, manifest.components.transformer!.file), o.runtime);
    const dit = new DiTRunner(session, manifest.components.transformer!.config);
    const call = () => dit.predict({ latents: [latent], shape: { channels: C, frames: F, height: H, width: W }, timestep: 500, contexts: [context] });
    const [out] = await call(); // warm-up, and the output compared
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await call();
      times.push(seconds(t));
    }
    await session.release();
    row[`${precision}S`] = median(times);
    if (!reference) {
      reference = out;
    } else {
      const e = errors(out, reference);
      row[`${precision}RelL2`] = e.relL2;
      row[`${precision}RelMax`] = e.relMax;
    }
  }
  return row;
}
