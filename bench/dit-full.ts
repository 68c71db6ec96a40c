/**
 * Full-size dry run of the Wan2.1-T2V-1.3B DiT (not a CI test): random weights with the real configuration in
 * the official single-file layout (fp16, as Comfy-Org ships it; bench/random-checkpoint.ts), converted by our
 * converter to fp16 and fp32 graphs, then one forward pass on CPU at a small latent. Each stage runs in its own process so its peak RSS
 * is its own. `lora` writes a rank-32 kohya-style LoRA on every attention and FFN matmul (300 pairs, fp16) and
 * `convert-lora:fp16` converts with it merged (models/convert/lora.ts), to compare with `convert:fp16`.
 *
 *   npx tsx bench/dit-full.ts [--work <dir>] [--latent 16,3,30,52] [--keep]
 *   npx tsx bench/dit-full.ts --stage generate|lora|convert:fp16|convert-lora:fp16 --work <dir>   (one stage)
 *
 * Prints a table and writes bench/results/dit-full.json.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { convertModel } from "../models/convert/convert.ts";
import type { WanDiTConfig } from "../models/wan/dit.ts";
import { floatToHalf } from "../models/graph/dtype.ts";
import { SafetensorsWriter } from "../models/weights/safetensors.ts";
import { officialDiTConfig, randomHalfs, WAN_1_3B_DIT, writeRandomDiTCheckpoint } from "./random-checkpoint.ts";
import { DiTRunner } from "../lib/engine/dit.ts";
import { openSession } from "../lib/engine/runtime.ts";

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

async function generate(): Promise<void> {
  console.log(JSON.stringify(await writeRandomDiTCheckpoint(weightsFile, WAN_1_3B_DIT)));
}

const LORA_RANK = 32;
const loraFile = path.join(work, "lora", "every-matmul-r32.safetensors");

/** A rank-32 LoRA in kohya/musubi keys on the 10 matmuls of every block, as a musubi-tuner full-block LoRA has. */
async function generateLora(): Promise<void> {
  const linears = ["self_attn.q", "self_attn.k", "self_attn.v", "self_attn.o", "cross_attn.q", "cross_attn.k", "cross_attn.v", "cross_attn.o"];
  const specs: { name: string; dtype: "float16"; shape: number[] }[] = [];
  for (let b = 0; b < WAN_1_3B_DIT.numLayers; b++) {
    const shapes: [string, number, number][] = [
      ...linears.map((l): [string, number, number] => [l, WAN_1_3B_DIT.dim, WAN_1_3B_DIT.dim]),
      ["ffn.0", WAN_1_3B_DIT.ffnDim, WAN_1_3B_DIT.dim],
      ["ffn.2", WAN_1_3B_DIT.dim, WAN_1_3B_DIT.ffnDim],
    ];
    for (const [target, out, inDim] of shapes) {
      const prefix = `lora_unet_blocks_${b}_${target.replace(".", "_")}`;
      specs.push({ name: `${prefix}.lora_down.weight`, dtype: "float16", shape: [LORA_RANK, inDim] });
      specs.push({ name: `${prefix}.lora_up.weight`, dtype: "float16", shape: [out, LORA_RANK] });
      specs.push({ name: `${prefix}.alpha`, dtype: "float16", shape: [] });
    }
  }
  mkdirSync(path.dirname(loraFile), { recursive: true });
  const writer = await SafetensorsWriter.create(loraFile, specs);
  const state = { s: 0x1b873593 };
  for (const { name, shape } of specs) {
    if (name.endsWith(".alpha")) {
      await writer.write(name, Uint16Array.of(floatToHalf(LORA_RANK)));
      continue;
    }
    const scale = name.endsWith("down.weight") ? 1 / Math.sqrt(shape[1]) : 0.01;
    for (const chunk of randomHalfs(shape[0] * shape[1], scale, state)) await writer.write(name, chunk);
  }
  await writer.close();
  console.log(JSON.stringify({ loraMB: sizeOf(loraFile) / 1e6, pairs: specs.length / 3 }));
}

async function convert(precision: "fp16" | "fp32", withLora = false): Promise<void> {
  const out = path.join(work, `onnx-${precision}${withLora ? "-lora" : ""}`);
  rmSync(out, { recursive: true, force: true });
  const started = performance.now();
  await convertModel({ source: weightsFile, outDir: out, precision, loras: withLora ? [{ file: loraFile, strength: 1 }] : [] });
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
    else if (name === "lora") await generateLora();
    else if (name === "convert") await convert(precision);
    else if (name === "convert-lora") await convert(precision, true);
    else if (name === "forward") await forward(precision);
    const peak = process.resourceUsage().maxRSS / 1024;
    console.log(JSON.stringify({ peakRssMB: Math.round(peak) }));
    return;
  }
  const stages = ["generate", "convert:fp16", "convert:fp32", "forward:fp32", "forward:fp16", "lora", "convert-lora:fp16"];
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
  const report = { config: officialDiTConfig(WAN_1_3B_DIT), latent: values.latent, stages: results, files, machine: { cpus: os.cpus().length } };
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
