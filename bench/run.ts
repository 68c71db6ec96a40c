/**
 * `npm run bench`: speed and memory of the engine on this machine, printed as a table and written as JSON to
 * bench/results/bench.json. Every measurement runs in its own child process, so its peak RSS is its own.
 *
 *   tiny            the built-in tiny model: text encode, DiT step (CFG batch of 2), VAE decode, ffmpeg encode,
 *                   end to end, peak RSS
 *   dit-mid         a mid-size random DiT (dim 768, 6 heads, 12 layers, ffn 3072), latent [16,5,30,52]
 *                   (17 frames of 240×416), 128-token context padded to 512: one forward (target ≤ 5 s)
 *   vae-real        the real-size VAE (base dim 96) decoding latent [16,3,30,52] → 9 frames of 240×416
 *                   (target ≤ 45 s)
 *   vae-9 / vae-81  peak RSS decoding 9 vs 81 frames with the real-size VAE at 96×160 (target ratio ≤ 1.15)
 *   vae-480p        peak RSS decoding latent [16,3,60,104] → 9 frames of 480×832, the default size (not run by
 *                   default: several minutes)
 *   ffmpeg          H.264 encode of 832×480 frames
 *   attention-480p  the DiT's self-attention at 480p (32,760 tokens, 12 heads of 128): peak RSS shows that the
 *                   12 × 32,760² score matrix (51.5 GB) is never materialised
 *   gpu-budget      the GPU memory table for 480×832×81 with the fp16 DiT (lib/engine/memory-budget.ts)
 *   device-traffic  host↔device bytes per denoising step and per decoded latent frame, tiny model, on the
 *                   --provider given (webgpu: the state stays on the device; cpu moves nothing)
 *   dit-int8        the mid-size DiT in fp32, int8 and int8-compute (MatMulNBits accuracy_level 4): seconds per
 *                   forward and the int8 forms' error against fp32 (bench/int8.ts)
 *   recipe-guided-50, recipe-teacache-fast, recipe-rcm-4, text-encode
 *                   the whole recipe at real size: random 1.3B DiT + real-size VAE, 416×240, 33 frames, 50 guided
 *                   steps vs TeaCache fast vs the 4-step rCM recipe (target ≤ 480 s on 2 cores); text encoding
 *                   apart, with --text-model <dir> (bench/recipe.ts)
 *   The int8 and recipe stages are not run by default (minutes to an hour); --short runs them at toy size.
 *   step-cache      the speed presets (exact, fast, faster; lib/engine/speed.ts) and MagCache's published 1.3B
 *                   settings (E012K2R02, E012K4R02): DiT passes run and skipped and wall time of a whole denoising
 *                   loop (UniPC, guidance 5, `--steps`, default 50) on the mid-size DiT's stage graphs, plus
 *                   "exact" on its whole graph (what the stage split costs).
 *                   Random weights make TeaCache's 1.3B calibration meaningless, so `--model <converted folder>`
 *                   runs it on a real model at 240×416, 17 frames (not run by default: long)
 *
 *   npm run bench [-- --only tiny,dit-mid] [-- --threads N] [-- --short] [-- --text-model <dir>] [-- --provider cpu|webgpu]
 *                 [-- --only step-cache --steps 3 [--model <dir>]]
 * Targets refer to the official PyTorch code on the same 2-core machines (fp32, 2 threads): 10.5 s for the
 * mid-size DiT forward, 92 s for the VAE decode.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { denoise } from "../lib/engine/denoise.ts";
import { DiTRunner } from "../lib/engine/dit.ts";
import { createScheduler } from "../lib/engine/schedulers/create-scheduler.ts";
import { MAGCACHE_WAN_1_3B_SETTINGS } from "../lib/engine/magcache.ts";
import { SPEED_PRESETS, type StepCacheSettings } from "../lib/engine/speed.ts";
import { SPEEDS } from "../lib/schemas/generation.ts";
import { buildTransformerGraphs, saveTransformerGraphs, TRANSFORMER_FILE, TRANSFORMER_STAGE_FILES } from "../models/convert/transformer.ts";
import { readManifest } from "../models/manifest.ts";
import { loadModel } from "../lib/engine/model.ts";
import { WanPipeline } from "../lib/engine/pipeline.ts";
import { formatBudget, gib, gpuMemoryBudget } from "../lib/engine/memory-budget.ts";
import {
  describeRuntime,
  deviceTraffic,
  openSession,
  resetDeviceTraffic,
  resolveRuntime,
  type ExecutionProvider,
  type ResolvedRuntime,
} from "../lib/engine/runtime.ts";
import { createVaeSessions, decodeLatents, releaseVaeSessions } from "../lib/engine/vae.ts";
import { generateTinyModel } from "../lib/model-library/tiny.ts";
import { createMp4Encoder, mp4FileSink } from "../lib/video/encoder.ts";
import { GraphBuilder } from "../models/graph/builder.ts";
import { saveGraph, serializeInline } from "../models/graph/save.ts";
import { multiHeadAttention, Params } from "../models/nn.ts";
import { buildWanDiT, type WanDiTConfig } from "../models/wan/dit.ts";
import { WAN21_VAE_CONFIG } from "../models/wan/vae-layout.ts";
import { buildVaeGraphs, saveVaeGraphs, VAE_GRAPH_FILES } from "../models/wan/vae-export.ts";
import { RecordingWeights } from "../models/weights/recording.ts";
import type { WeightStore } from "../models/weights/store.ts";
import { stageDitInt8 } from "./int8.ts";
import { recipeStages, type Row } from "./recipe.ts";

const { values } = parseArgs({
  options: {
    stage: { type: "string" },
    only: { type: "string" },
    threads: { type: "string", default: "0" },
    provider: { type: "string", default: "cpu" },
    steps: { type: "string", default: "50" },
    model: { type: "string" },
    work: { type: "string", default: path.join(os.tmpdir(), "wan-studio-bench") },
    short: { type: "boolean", default: false },
    "text-model": { type: "string" },
  },
});
const work = values.work!;
const threads = Number(values.threads);


const MID_DIT: WanDiTConfig = {
  modelType: "t2v", patchSize: [1, 2, 2], textLen: 512, inDim: 16, dim: 768, ffnDim: 3072, freqDim: 256,
  textDim: 4096, outDim: 16, numHeads: 6, numLayers: 12, eps: 1e-6, imageDim: null,
};

async function runtime(): Promise<ResolvedRuntime> {
  return resolveRuntime({ executionProviders: [values.provider as ExecutionProvider], threads });
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function stageTiny(): Promise<Row> {
  const dir = path.join(work, "tiny");
  if (!existsSync(path.join(dir, "manifest.json"))) await generateTinyModel({ outDir: dir, seed: 0 });
  const rt = await runtime();
  const t0 = performance.now();
  const model = await loadModel(dir, rt);
  const loadS = seconds(t0);
  const t1 = performance.now();
  await model.prompts.encode("a bench prompt of moderate length about a sailing boat at dawn");
  const textS = seconds(t1);
  const out = path.join(work, "tiny-out");
  mkdirSync(out, { recursive: true });
  const params = { prompt: "a sailing boat at dawn", width: 160, height: 96, frames: 33, steps: 8, guidance: 5, shift: 5, solver: "unipc" as const, grid: "official" as const, speed: "exact" as const, seed: 1 };
  const t2 = performance.now();
  const result = await new WanPipeline(model).generate(params, mp4FileSink(out));
  const e2e = seconds(t2);
  const latentFrames = 1 + (params.frames - 1) / 4;
  return {
    loadS,
    textEncodeS: textS,
    ditStepS: result.timings.denoise / params.steps,
    vaeDecodeFps: params.frames / result.timings.decode,
    e2eS: e2e,
    frames: params.frames,
    size: `${params.width}x${params.height}`,
    latentFrames,
  };
}

async function stageDitMid(): Promise<Row> {
  const dir = path.join(work, "dit-mid");
  if (!existsSync(path.join(dir, "transformer.onnx"))) {
    mkdirSync(dir, { recursive: true });
    const g = new GraphBuilder("wan_dit");
    buildWanDiT(g, new Params(g, new RecordingWeights("transformer", "random"), "", "fp32"), MID_DIT);
    await saveGraph(g, { dir, file: "transformer.onnx" });
  }
  const session = await openSession(path.join(dir, "transformer.onnx"), await runtime());
  const dit = new DiTRunner(session, MID_DIT);
  const [C, F, H, W] = [16, 5, 30, 52];
  const latent = Float32Array.from({ length: C * F * H * W }, (_, i) => Math.sin(i * 0.37));
  const context = Float32Array.from({ length: 128 * MID_DIT.textDim }, (_, i) => 0.2 * Math.cos(i * 0.11));
  const call = () => dit.predict({ latents: [latent], shape: { channels: C, frames: F, height: H, width: W }, timestep: 999, contexts: [{ data: context, rows: 128 }] });
  await call(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await call();
    times.push(seconds(t));
  }
  return { forwardMedianS: median(times), forwardMinS: Math.min(...times), targetS: 5, tokens: F * (H / 2) * (W / 2) };
}

/**
 * A whole denoising loop per speed preset on the stage graphs, and "exact" once more on the whole graph. Each
 * preset reports its DiT passes (run and skipped) and wall seconds.
 */
async function stageStepCache(): Promise<Row> {
  const steps = Number(values.steps);
  let dir: string;
  let cfg: WanDiTConfig;
  if (values.model) {
    dir = path.resolve(values.model);
    const entry = (await readManifest(dir)).components.transformer;
    if (!entry?.stages) throw new Error(`${dir}: no DiT stage graphs (convert the model again)`);
    cfg = entry.config;
  } else {
    dir = path.join(work, "dit-mid-stages");
    cfg = MID_DIT;
    if (!existsSync(path.join(dir, TRANSFORMER_STAGE_FILES.head))) {
      mkdirSync(dir, { recursive: true });
      await saveTransformerGraphs(buildTransformerGraphs(new RecordingWeights("transformer", "random"), MID_DIT, "fp32"), dir);
    }
  }
  const rt = await runtime();
  const open = (file: string) => openSession(path.join(dir, file), rt);
  const [C, F, H, W] = [16, 5, 30, 52];
  const noise = Float32Array.from({ length: C * F * H * W }, (_, i) => Math.sin(i * 0.37));
  const rows = Math.min(128, cfg.textLen);
  const text = (phase: number) => ({ data: Float32Array.from({ length: rows * cfg.textDim }, (_, i) => 0.2 * Math.cos(i * phase)), rows });
  const loop = async (dit: DiTRunner, name: string, stepCache: StepCacheSettings | null) => {
    const t0 = performance.now();
    const { ditCalls } = await denoise({
      dit,
      scheduler: createScheduler("unipc", { steps, shift: 5 }),
      shape: { channels: C, frames: F, height: H, width: W },
      initial: noise,
      cond: text(0.11),
      uncond: text(0.07),
      guidance: 5,
      stepCache,
    });
    return { [`${name}Calls`]: ditCalls.calls, [`${name}Skipped`]: ditCalls.skipped, [`${name}S`]: seconds(t0) };
  };
  // One batched call first, so no preset pays for the sessions' first-run set-up.
  const warmUp = (dit: DiTRunner) =>
    dit.predict({ latents: [noise, noise], shape: { channels: C, frames: F, height: H, width: W }, timestep: 999, contexts: [text(0.11), text(0.07)] });
  const row: Row = { steps, model: values.model ? path.basename(dir) : "dit-mid (random weights)", tokens: F * (H / 2) * (W / 2) };
  const stages = new DiTRunner({ embedding: await open(TRANSFORMER_STAGE_FILES.embedding), blocks: await open(TRANSFORMER_STAGE_FILES.blocks), head: await open(TRANSFORMER_STAGE_FILES.head) }, cfg);
  await warmUp(stages);
  for (const speed of SPEEDS) Object.assign(row, await loop(stages, speed, SPEED_PRESETS[speed]));
  for (const [name, settings] of Object.entries(MAGCACHE_WAN_1_3B_SETTINGS)) Object.assign(row, await loop(stages, name, { rule: "magcache", ...settings }));
  await stages.release();
  const whole = new DiTRunner(await open(TRANSFORMER_FILE), cfg);
  await warmUp(whole);
  row.exactWholeGraphS = (await loop(whole, "exactWholeGraph", null)).exactWholeGraphS;
  await whole.release();
  return row;
}

async function realVaeDir(): Promise<string> {
  const dir = path.join(work, "vae-real");
  // Checks the newest graph file, so a folder from before the per-frame split is rebuilt.
  if (!existsSync(path.join(dir, VAE_GRAPH_FILES.decoderFrame))) {
    mkdirSync(dir, { recursive: true });
    const graphs = buildVaeGraphs(new RecordingWeights("vae", "random") as unknown as WeightStore, WAN21_VAE_CONFIG, { parts: ["decoder"] });
    await saveVaeGraphs(graphs, dir);
  }
  return dir;
}

/** Decodes a latent [16, F, h, w] with the real-size decoder: wall and CPU seconds (the machine may be shared). */
async function decodeOnce(latentShape: [number, number, number]): Promise<{ seconds: number; cpuS: number; frames: number }> {
  const dir = await realVaeDir();
  const sessions = await createVaeSessions(dir, VAE_GRAPH_FILES, await runtime(), "decoder");
  const [F, h, w] = latentShape;
  const latent = Float32Array.from({ length: 16 * F * h * w }, (_, i) => Math.sin(i * 0.013));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let frames = 0;
  for await (const chunk of decodeLatents(sessions, latent, F, h, w)) frames += chunk.t;
  const s = seconds(t0);
  const cpu = process.cpuUsage(cpu0);
  await releaseVaeSessions(sessions);
  return { seconds: s, cpuS: (cpu.user + cpu.system) / 1e6, frames };
}

async function stageVaeReal(): Promise<Row> {
  const r = await decodeOnce([3, 30, 52]);
  return { decodeS: r.seconds, cpuS: r.cpuS, frames: r.frames, fps: r.frames / r.seconds, targetS: 45 };
}

async function stageVaeFrames(latents: number): Promise<Row> {
  const r = await decodeOnce([latents, 12, 20]);
  return { decodeS: r.seconds, cpuS: r.cpuS, frames: r.frames };
}

async function stageVae480p(): Promise<Row> {
  const r = await decodeOnce([3, 60, 104]);
  return { decodeS: r.seconds, cpuS: r.cpuS, frames: r.frames, size: "832x480" };
}

async function stageFfmpeg(): Promise<Row> {
  const [w, h, n] = [832, 480, 48];
  const file = path.join(work, "ffmpeg-bench.mp4");
  const enc = createMp4Encoder({ file, width: w, height: h, fps: 16 });
  const frame = new Uint8Array(w * h * 3);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < frame.length; p += 3) {
      frame[p] = (p / 3 + i * 7) & 255;
      frame[p + 1] = (p / 7) & 255;
      frame[p + 2] = (i * 13) & 255;
    }
    await enc.writeFrame(frame);
  }
  await enc.finish();
  return { encodeFps: n / seconds(t0), size: `${w}x${h}`, frames: n };
}

async function stageAttention480p(): Promise<Row> {
  const [L, heads, d] = [32760, 12, 128];
  const g = new GraphBuilder("attention");
  const q = g.input("q", "float32", [1, L, heads * d]);
  g.output(multiHeadAttention(q, q, q, heads), "y", [1, L, heads * d]);
  const session = await openSession(await serializeInline(g), await runtime());
  const x = new ort.Tensor("float32", Float32Array.from({ length: L * heads * d }, (_, i) => Math.sin(i) * 0.1), [1, L, heads * d]);
  const t0 = performance.now();
  await session.run({ q: x });
  return { seconds: seconds(t0), tokens: L, heads, headDim: d, fullScoreMatrixGB: (heads * L * L * 4) / 1e9 };
}

async function stageGpuBudget(): Promise<Row> {
  const input = { width: 832, height: 480, frames: 81, precision: "fp16" as const, batch: 2 };
  const budget = gpuMemoryBudget(input);
  process.stderr.write(formatBudget(budget, input) + "\n");
  const row: Row = { peakGiB: budget.peakBytes / 2 ** 30, targetGiB: 8 * 1e9 / 2 ** 30, denoiseGiB: budget.denoiseBytes / 2 ** 30, decodeGiB: budget.decodeBytes / 2 ** 30 };
  for (const r of budget.rows) row[r.part] = gib(r.bytes);
  return row;
}

/** Host↔device bytes of one denoising step (CFG batch 2) and of one decoded latent frame, on --provider. */
async function stageDeviceTraffic(): Promise<Row> {
  const dir = path.join(work, "tiny");
  if (!existsSync(path.join(dir, "manifest.json"))) await generateTinyModel({ outDir: dir, seed: 0 });
  const rt = await runtime();
  const model = await loadModel(dir, rt);
  const [C, F, h, w] = [model.zDim, 9, 12, 20];
  const latent = Float32Array.from({ length: C * F * h * w }, (_, i) => Math.sin(i * 0.37));
  const context = await model.prompts.encode("a bench prompt");
  const call = () => model.dit.predict({ latents: [latent, latent], shape: { channels: C, frames: F, height: h, width: w }, timestep: 500, contexts: [context, context] });
  await call(); // first call: uploads what stays on the device
  resetDeviceTraffic();
  await call();
  const step = { ...deviceTraffic };
  resetDeviceTraffic();
  for await (const chunk of decodeLatents(model.vae, latent, F, h, w)) void chunk;
  const decode = { ...deviceTraffic };
  await model.release();
  const frameBytes = 3 * 8 * h * 8 * w * 4;
  return {
    provider: describeRuntime(rt),
    latent: `${C}x${F}x${h}x${w}`,
    stepHostToDeviceB: step.hostToDevice,
    stepDeviceToHostB: step.deviceToHost,
    decodePerLatentFrameHostToDeviceB: Math.round(decode.hostToDevice / F),
    decodePerLatentFrameDeviceToHostB: Math.round(decode.deviceToHost / F),
    decodedVideoBytesPerLatentFrame: Math.round((frameBytes * (1 + 4 * (F - 1))) / F),
  };
}

const RECIPE_STAGES = recipeStages({ work, runtime, realVaeDir, short: values.short!, textModel: values["text-model"] });

const STAGES: Record<string, () => Promise<Row>> = {
  tiny: stageTiny,
  "dit-mid": stageDitMid,
  "vae-real": stageVaeReal,
  "vae-9": () => stageVaeFrames(3),
  "vae-81": () => stageVaeFrames(21),
  "vae-480p": stageVae480p,
  ffmpeg: stageFfmpeg,
  "attention-480p": stageAttention480p,
  "gpu-budget": stageGpuBudget,
  "device-traffic": stageDeviceTraffic,
  "dit-int8": async () => stageDitInt8({ work, runtime: await runtime(), mid: MID_DIT, short: values.short! }),
  ...RECIPE_STAGES,
  "step-cache": stageStepCache,
};
/** Stages run only when named with --only. */
const OPT_IN = new Set(["vae-480p", "dit-int8", "step-cache", ...Object.keys(RECIPE_STAGES)]);

async function main(): Promise<void> {
  if (values.stage) {
    const row = await STAGES[values.stage]();
    row.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
    console.log(JSON.stringify(row));
    return;
  }
  mkdirSync(work, { recursive: true });
  const only = values.only ? values.only.split(",") : Object.keys(STAGES).filter((s) => !OPT_IN.has(s));
  const results: Record<string, Row> = {};
  for (const stage of only) {
    if (!STAGES[stage]) throw new Error(`unknown stage ${stage}; one of ${Object.keys(STAGES).join(", ")}`);
    process.stderr.write(`bench ${stage}…\n`);
    const passOn = [
      ...(values.short ? ["--short"] : []),
      ...(values["text-model"] ? ["--text-model", values["text-model"]] : []),
      ...(values.model ? ["--model", values.model] : []),
    ];
    const args = ["--import", "tsx", path.join(import.meta.dirname, "run.ts"), "--stage", stage, "--work", work, "--threads", String(threads), "--provider", values.provider!, "--steps", values.steps!, ...passOn];
    const stdout = execFileSync(process.execPath, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    results[stage] = JSON.parse(stdout.trim().split("\n").at(-1)!);
  }
  if (results["vae-9"] && results["vae-81"]) {
    results["vae-stream"] = {
      rss9MB: results["vae-9"].peakRssMB,
      rss81MB: results["vae-81"].peakRssMB,
      ratio: Number(results["vae-81"].peakRssMB) / Number(results["vae-9"].peakRssMB),
      targetRatio: 1.15,
    };
  }
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGB: Math.round(os.totalmem() / 2 ** 30), loadavg: os.loadavg() },
    onnxruntime: ort.env.versions,
    threads: threads || "default",
    results,
  };
  console.log("\nstage        figures");
  for (const [stage, row] of Object.entries(results)) {
    const figs = Object.entries(row).map(([k, v]) => `${k}=${typeof v === "number" ? (Number.isInteger(v) ? v : v.toFixed(3)) : v}`);
    console.log(`${stage.padEnd(12)} ${figs.join("  ")}`);
  }
  const out = path.join(import.meta.dirname, "results");
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, "bench.json"), JSON.stringify(report, null, 2) + "\n");
  console.log(`\n${JSON.stringify(report)}`);
  rmSync(path.join(work, "tiny-out"), { recursive: true, force: true });
}

await main();
