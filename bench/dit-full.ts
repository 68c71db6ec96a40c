/**
 * Full-size dry run of the Wan2.1-T2V-1.3B DiT (not a CI test): random weights with the real configuration in
 * the official single-file layout (fp16, as Comfy-Org ships it), converted by our converter to fp16 and fp32
 * graphs, then one forward pass on CPU at a small latent. Each stage runs in its own process so its peak RSS
 * is its own.
 *
 *   npx tsx bench/dit-full.ts [--work <dir>] [--latent 16,3,30,52] [--keep]
 *
 * Prints a table and writes bench/results/dit-full.json.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { GraphBuilder } from "../models/graph/builder.ts";
import { floatToHalf, halfToFloat } from "../models/graph/dtype.ts";
import { convertModel } from "../models/convert/convert.ts";
import { Params } from "../models/nn.ts";
import { buildWanDiT, type WanDiTConfig } from "../models/wan/dit.ts";
import { RecordingWeights } from "../models/weights/recording.ts";
import { SafetensorsWriter } from "../models/weights/safetensors.ts";
import { DiTRunner } from "../lib/engine/dit.ts";
import { openSession } from "../lib/engine/runtime.ts";

/** Wan2.1-T2V-1.3B (reference §1.1), in the official config.json format. */
const OFFICIAL_CONFIG = {
  _class_name: "WanModel",
  model_type: "t2v",
  patch_size: [1, 2, 2],
  text_len: 512,
  in_dim: 16,
  dim: 1536,
  ffn_dim: 8960,
  freq_dim: 256,
  text_dim: 4096,
  out_dim: 16,
  num_heads: 12,
  num_layers: 30,
  eps: 1e-6,
};

const { values } = parseArgs({
  options: {
    work: { type: "string", default: "data/bench/dit-full" },
    latent: { type: "string", default: "16,3,30,52" },
    stage: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const work = path.resolve(values.work!);
const weightsFile = path.join(work, "checkpoint", "wan2.1_t2v_1.3B_fp16.safetensors");

/** Fast deterministic uniform noise with unit variance (the dry run needs realistic magnitudes, not quality). */
function* randomHalfs(count: number, scale: number, state: { s: number }): Generator<Uint16Array> {
  const CHUNK = 1 << 22;
  for (let done = 0; done < count; done += CHUNK) {
    const n = Math.min(CHUNK, count - done);
    const out = new Uint16Array(n);
    let s = state.s;
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const u = (s >>> 0) / 4294967296 - 0.5; // uniform in [-0.5, 0.5): variance 1/12
      out[i] = floatToHalf(u * 3.4641016 * scale);
    }
    state.s = s;
    yield out;
  }
}

async function generate(): Promise<void> {
  const rec = new RecordingWeights("transformer");
  const cfg: WanDiTConfig = {
    modelType: "t2v", patchSize: [1, 2, 2], textLen: 512, inDim: 16, dim: 1536, ffnDim: 8960, freqDim: 256,
    textDim: 4096, outDim: 16, numHeads: 12, numLayers: 30, eps: 1e-6, imageDim: null,
  };
  const g = new GraphBuilder("enumerate");
  buildWanDiT(g, new Params(g, rec, "", "fp32"), cfg);
  mkdirSync(path.dirname(weightsFile), { recursive: true });
  writeFileSync(path.join(path.dirname(weightsFile), "config.json"), JSON.stringify(OFFICIAL_CONFIG, null, 2));
  const specs = [...rec.requested].map(([name, shape]) => ({ name, dtype: "float16" as const, shape }));
  const writer = await SafetensorsWriter.create(weightsFile, specs);
  const state = { s: 0x2545f491 };
  let params = 0;
  for (const { name, shape } of specs) {
    const count = shape.reduce((a, b) => a * b, 1);
    params += count;
    const isNormWeight = shape.length === 1 && name.endsWith(".weight");
    for (const chunk of randomHalfs(count, isNormWeight ? 0.1 : name.endsWith(".bias") ? 0.05 : name.includes("modulation") ? 0.1 : 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1)), state)) {
      if (isNormWeight) for (let i = 0; i < chunk.length; i++) chunk[i] = floatToHalf(1 + halfToFloat(chunk[i]));
      await writer.write(name, chunk);
    }
  }
  await writer.close();
  console.log(JSON.stringify({ tensors: specs.length, params }));
}

async function convert(precision: "fp16" | "fp32"): Promise<void> {
  const out = path.join(work, `onnx-${precision}`);
  rmSync(out, { recursive: true, force: true });
  const started = performance.now();
  await convertModel({ source: weightsFile, outDir: out, precision });
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000 }));
}

async function forward(precision: "fp16" | "fp32"): Promise<void> {
  const dir = path.join(work, `onnx-${precision}`);
  const [C, F, H, W] = values.latent!.split(",").map(Number);
  const t0 = performance.now();
  const session = await openSession(path.join(dir, "transformer.onnx"), { providers: ["cpu"], rejected: [], threads: 0 });
  const cfg = (JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")) as { components: { transformer: { config: WanDiTConfig } } }).components.transformer.config;
  const runner = new DiTRunner(session, cfg);
  const loadS = (performance.now() - t0) / 1000;
  const latent = new Float32Array(C * F * H * W).map((_, i) => Math.sin(i * 0.37));
  const context = new Float32Array(64 * cfg.textDim).map((_, i) => Math.cos(i * 0.11) * 0.2);
  const t1 = performance.now();
  const [out] = await runner.predict({ latents: [latent], shape: { channels: C, frames: F, height: H, width: W }, timestep: 999, contexts: [{ data: context, rows: 64 }] });
  const forwardS = (performance.now() - t1) / 1000;
  const finite = out.every(Number.isFinite);
  console.log(JSON.stringify({ loadS, forwardS, finite, tokens: F * (H / 2) * (W / 2) }));
}

function sizeOf(p: string): number {
  return existsSync(p) ? statSync(p).size : 0;
}

async function main(): Promise<void> {
  if (values.stage) {
    const [name, precision] = values.stage.split(":") as [string, "fp16" | "fp32"];
    if (name === "generate") await generate();
    else if (name === "convert") await convert(precision);
    else if (name === "forward") await forward(precision);
    const peak = process.resourceUsage().maxRSS / 1024;
    console.log(JSON.stringify({ peakRssMB: Math.round(peak) }));
    return;
  }
  const stages = ["generate", "convert:fp16", "convert:fp32", "forward:fp32", "forward:fp16"];
  const results: Record<string, Record<string, unknown>> = {};
  for (const stage of stages) {
    const t0 = performance.now();
    const stdout = execFileSync(process.execPath, ["--import", "tsx", path.resolve(import.meta.dirname, "dit-full.ts"), "--stage", stage, "--work", work, "--latent", values.latent!], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 26,
    });
    const merged: Record<string, unknown> = { wallS: Math.round((performance.now() - t0) / 100) / 10 };
    for (const line of stdout.trim().split("\n")) {
      try {
        Object.assign(merged, JSON.parse(line));
      } catch {
        // progress or log lines
      }
    }
    results[stage] = merged;
    console.error(`${stage}: ${JSON.stringify(merged)}`);
  }
  const files = {
    checkpointGB: sizeOf(weightsFile) / 1e9,
    fp16: { graphKB: sizeOf(path.join(work, "onnx-fp16", "transformer.onnx")) / 1e3, dataGB: sizeOf(path.join(work, "onnx-fp16", "transformer.onnx.data")) / 1e9 },
    fp32: { graphKB: sizeOf(path.join(work, "onnx-fp32", "transformer.onnx")) / 1e3, dataGB: sizeOf(path.join(work, "onnx-fp32", "transformer.onnx.data")) / 1e9 },
  };
  const report = { config: OFFICIAL_CONFIG, latent: values.latent, stages: results, files, machine: { cpus: os.cpus().length } };
  console.log("\nstage          wall s   peak RSS MB   notes");
  for (const [stage, r] of Object.entries(results)) {
    const notes = Object.entries(r).filter(([k]) => !["wallS", "peakRssMB"].includes(k)).map(([k, v]) => `${k}=${typeof v === "number" ? Math.round(v * 100) / 100 : v}`).join(" ");
    console.log(`${stage.padEnd(14)} ${String(r.wallS).padStart(6)}   ${String(r.peakRssMB).padStart(11)}   ${notes}`);
  }
  console.log(`files: checkpoint ${files.checkpointGB.toFixed(2)} GB; fp16 graph ${files.fp16.graphKB.toFixed(0)} kB + ${files.fp16.dataGB.toFixed(2)} GB; fp32 graph ${files.fp32.graphKB.toFixed(0)} kB + ${files.fp32.dataGB.toFixed(2)} GB`);
  mkdirSync(path.resolve(import.meta.dirname, "results"), { recursive: true });
  writeFileSync(path.resolve(import.meta.dirname, "results", "dit-full.json"), JSON.stringify(report, null, 2));
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}

await main();
