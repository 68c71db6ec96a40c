/**
 * What fp16 VAE caches would cost in accuracy, before building them: every decoder graph's `cache_out.*` is
 * rounded to float16 and back (Cast → Cast, exactly what storing the caches in fp16 does to the values the
 * next call reads), and the decode is compared with the fp32 one.
 *
 *   npx tsx bench/vae-precision.ts [--model <converted model dir>] [--real]
 *
 * Without --model it converts the tiny fixture model and compares against the official goldens (vae_decA/B);
 * --real adds the real-size VAE (random weights, base dim 96) on a 3-latent-frame 240×416 latent, fp16 caches
 * against fp32 caches. Prints a table and JSON. docs/gpu.md records the figures and the choice.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import onnxProto from "onnx-proto";
import { resolveRuntime } from "../lib/engine/runtime.ts";
import { createVaeSessions, decodeLatents, releaseVaeSessions } from "../lib/engine/vae.ts";
import { convertModel } from "../models/convert/convert.ts";
import { readManifest } from "../models/manifest.ts";
import type { VaeGraphFiles } from "../models/wan/vae-export.ts";
import { buildVaeGraphs, saveVaeGraphs, VAE_GRAPH_FILES } from "../models/wan/vae-export.ts";
import { WAN21_VAE_CONFIG } from "../models/wan/vae-layout.ts";
import { RecordingWeights } from "../models/weights/recording.ts";
import { SafetensorsFile } from "../models/weights/safetensors.ts";
import type { WeightStore } from "../models/weights/store.ts";

const { values } = parseArgs({ options: { model: { type: "string" }, real: { type: "boolean", default: false } } });
const work = path.join(os.tmpdir(), "wan-vae-precision");
mkdirSync(work, { recursive: true });
const fixtures = path.join(import.meta.dirname, "..", "tests", "fixtures", "wan-tiny");

/** Writes `<graph>.fp16cache.onnx` beside each decoder graph: cache outputs rounded through float16. */
function roundCachesToHalf(dir: string, files: VaeGraphFiles): VaeGraphFiles {
  const { onnx } = onnxProto;
  const out: VaeGraphFiles = { ...files };
  for (const key of ["decoderFirst", "decoderStep", "decoderFrame"] as const) {
    const file = files[key];
    if (!file) continue;
    const model = onnx.ModelProto.decode(readFileSync(path.join(dir, file)));
    const graph = model.graph!;
    for (const o of graph.output!) {
      if (!o.name!.startsWith("cache_out.")) continue;
      const exact = `${o.name}/exact`;
      for (const n of graph.node!) n.output = n.output!.map((x) => (x === o.name ? exact : x));
      graph.node!.push(
        { opType: "Cast", input: [exact], output: [`${o.name}/half`], attribute: [{ name: "to", type: 2, i: onnx.TensorProto.DataType.FLOAT16 }] },
        { opType: "Cast", input: [`${o.name}/half`], output: [o.name!], attribute: [{ name: "to", type: 2, i: onnx.TensorProto.DataType.FLOAT }] },
      );
    }
    out[key] = file.replace(/\.onnx$/, ".fp16cache.onnx");
    writeFileSync(path.join(dir, out[key]!), onnx.ModelProto.encode(model).finish());
  }
  return out;
}

async function decode(dir: string, files: VaeGraphFiles, latent: Float32Array, F: number, h: number, w: number): Promise<Float32Array> {
  const runtime = await resolveRuntime({ executionProviders: ["cpu"], threads: 0 });
  const sessions = await createVaeSessions(dir, files, runtime, "decoder");
  const chunks: Float32Array[] = [];
  try {
    for await (const c of decodeLatents(sessions, latent, F, h, w)) chunks.push(c.frames.slice());
  } finally {
    await releaseVaeSessions(sessions);
  }
  // Chunks are [3, t, H, W] each: concatenate per channel.
  const per = chunks.map((c) => c.length / 3);
  const video = new Float32Array(per.reduce((a, b) => a + b, 0) * 3);
  const total = video.length / 3;
  let at = 0;
  chunks.forEach((c, i) => {
    for (let ch = 0; ch < 3; ch++) video.set(c.subarray(ch * per[i], (ch + 1) * per[i]), ch * total + at);
    at += per[i];
  });
  return video;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const rows: Record<string, number | string>[] = [];

const tiny = values.model ?? path.join(work, "tiny");
if (!values.model && !existsSync(path.join(tiny, "manifest.json"))) {
  await convertModel({ source: fixtures, outDir: tiny, precision: "fp32", textLen: 16 });
}
const files = (await readManifest(tiny)).components.vae!.files;
const half = roundCachesToHalf(tiny, files);
const goldens = await SafetensorsFile.open(path.join(fixtures, "goldens.safetensors"));
for (const c of ["A", "B"]) {
  const [, F, h, w] = goldens.info(`vae_dec${c}_latent_normalized`).shape;
  const latent = await goldens.readFloat32(`vae_dec${c}_latent_normalized`);
  const golden = await goldens.readFloat32(`vae_dec${c}_video`);
  const fp32 = await decode(tiny, files, latent, F, h, w);
  const fp16 = await decode(tiny, half, latent, F, h, w);
  rows.push({ case: `tiny vae_dec${c}`, fp32CachesVsGolden: maxAbsDiff(fp32, golden), fp16CachesVsGolden: maxAbsDiff(fp16, golden), fp16VsFp32: maxAbsDiff(fp16, fp32) });
}
await goldens.close();

if (values.real) {
  const dir = path.join(work, "real");
  if (!existsSync(path.join(dir, VAE_GRAPH_FILES.decoderFrame))) {
    mkdirSync(dir, { recursive: true });
    await saveVaeGraphs(buildVaeGraphs(new RecordingWeights("vae", "random") as unknown as WeightStore, WAN21_VAE_CONFIG, { parts: ["decoder"] }), dir);
  }
  const realFiles = { ...VAE_GRAPH_FILES } as VaeGraphFiles;
  const realHalf = roundCachesToHalf(dir, realFiles);
  const [F, h, w] = [3, 30, 52];
  const latent = Float32Array.from({ length: 16 * F * h * w }, (_, i) => Math.sin(i * 0.013));
  const fp32 = await decode(dir, realFiles, latent, F, h, w);
  const fp16 = await decode(dir, realHalf, latent, F, h, w);
  rows.push({ case: "real-size random, 9 frames 240×416", fp16VsFp32: maxAbsDiff(fp16, fp32) });
}

for (const r of rows) console.log(Object.entries(r).map(([k, v]) => `${k}=${typeof v === "number" ? v.toExponential(2) : v}`).join("  "));
console.log(JSON.stringify({ date: new Date().toISOString(), rows }));
