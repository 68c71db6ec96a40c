/**
 * The device benchmark (the entry point of `npm run device:pack`'s bundle, also runnable with tsx): builds the
 * full-size Wan2.1-T2V-1.3B DiT and the real-size VAE from random weights through the real converter, then
 * times what one 480×832×81 text-to-video generation does on the GPU — a warm-up DiT call, N denoising steps
 * with classifier-free guidance (the engine's own loop: batch of 2, UniPC, latent 16×21×60×104, 32,760
 * tokens) and the 21-latent-frame decode — and prints one JSON object. `--smoke` runs the tiny model at a tiny
 * latent instead, so the bundle can be checked on any machine.
 *
 *   node bench.mjs [--provider webgpu|cpu|cuda] [--steps N] [--fp16] [--smoke] [--work DIR] [--json FILE]
 *
 * The provider defaults to webgpu (and no fallback) for the full run, webgpu then cpu for --smoke.
 *   npx tsx bench/device.ts --smoke --provider cpu
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { denoise } from "../lib/engine/denoise.ts";
import { DiTRunner, type LatentShape } from "../lib/engine/dit.ts";
import { gaussianNoise } from "../lib/engine/noise.ts";
import {
  deviceTraffic,
  EXECUTION_PROVIDERS,
  resetDeviceTraffic,
  resolveRuntime,
  type ExecutionProvider,
  type ResolvedRuntime,
} from "../lib/engine/runtime.ts";
import { createScheduler } from "../lib/engine/schedulers/create-scheduler.ts";
import {
  createVaeSessions,
  decodeLatents,
  latentFrameCount,
  releaseVaeSessions,
  VAE_SPATIAL_SCALE,
} from "../lib/engine/vae.ts";
import { TINY_DIT, TINY_VAE } from "../lib/model-library/tiny-config.ts";
import { videoFrameCount } from "../lib/schemas/generation.ts";
import { convertModel } from "../models/convert/convert.ts";
import { WAN_1_3B_DEFAULTS, type Manifest } from "../models/manifest.ts";
import type { WanDiTConfig } from "../models/wan/dit.ts";
import { WAN21_VAE_CONFIG, type WanVaeConfig } from "../models/wan/vae-layout.ts";
import { buildVaeGraphs, openVaeCheckpoint, saveVaeGraphs, VAE_GRAPH_FILES } from "../models/wan/vae-export.ts";
import { GpuMemorySampler, type GpuMemoryReport } from "./gpu-memory.ts";
import { WAN_1_3B_DIT, writeRandomDiTCheckpoint, writeRandomVaeCheckpoint } from "./random-checkpoint.ts";

type Workload = {
  name: "full" | "smoke";
  dit: WanDiTConfig;
  vae: WanVaeConfig;
  /** The latent [16, F, H, W]. */
  latent: LatentShape;
  /** Rows of the text contexts before padding (a prompt of ~24 umT5 tokens, as the official anchor uses). */
  contextRows: number;
};

const FULL: Workload = {
  name: "full",
  dit: WAN_1_3B_DIT,
  vae: WAN21_VAE_CONFIG,
  // The 1.3B's default clip, 480×832×81: latent 21×60×104 (docs/model-notes.md#latent-normalisation-and-the-frame-rule: ×4 in time, ×8 in space).
  latent: {
    channels: 16,
    frames: latentFrameCount(WAN_1_3B_DEFAULTS.frames),
    height: WAN_1_3B_DEFAULTS.height / VAE_SPATIAL_SCALE,
    width: WAN_1_3B_DEFAULTS.width / VAE_SPATIAL_SCALE,
  },
  contextRows: 24,
};
const SMOKE: Workload = {
  name: "smoke",
  dit: TINY_DIT,
  vae: { ...TINY_VAE },
  latent: { channels: 16, frames: 3, height: 8, width: 12 },
  contextRows: 8,
};

const SEED = 20261206;

type DeviceBenchReport = {
  workload: Workload["name"];
  latent: number[];
  tokens: number;
  video: { frames: number; height: number; width: number };
  ditPrecision: "fp16" | "fp32";
  provider: { requested: ExecutionProvider[]; sessions: string[]; rejected: ResolvedRuntime["rejected"] };
  /** The WebGPU adapter the sessions run on (lib/engine/gpu-adapter.ts); null on other providers. */
  adapter: ResolvedRuntime["adapter"] | null;
  onnxruntime: string;
  node: string;
  machine: { cpus: number; cpuModel: string | undefined; memGiB: number };
  buildSeconds: { ditCheckpoint: number; ditConvert: number; vaeCheckpoint: number; vaeGraphs: number };
  /** Filled as the run goes: a run stopped by an error keeps what it measured (null: not reached). */
  dit?: {
    sessionSeconds: number;
    warmupSeconds: number | null;
    steps: number;
    batch: number;
    secondsPerStep: number | null;
    stepSeconds: number[];
    clipProjection50StepsSeconds: number | null;
    finite: boolean | null;
  };
  decode?: { sessionSeconds: number; seconds: number; frames: number };
  /** Bytes between host and device (runtime.ts deviceTraffic; CPU sessions move none), per phase and per step. */
  hostDeviceBytes?: Record<"warmup" | "steps" | "decode", { hostToDevice: number; deviceToHost: number; calls: number }> & { perStep: number };
  gpuMemory?: GpuMemoryReport;
  peakHostRssMiB?: number;
  error?: string;
};

const seconds = (t0: number) => (performance.now() - t0) / 1000;
/** Progress on stderr: a run cut off by its time limit still says how far it got (stdout carries only the JSON). */
const started = performance.now();
const progress = (line: string) => process.stderr.write(`[device-bench ${seconds(started).toFixed(1)} s] ${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Random checkpoints → converted model folder (DiT) and decoder graphs (VAE); reused when already built. */
async function buildModels(w: Workload, precision: "fp16" | "fp32", work: string, times: DeviceBenchReport["buildSeconds"]) {
  const ditFile = path.join(work, "checkpoint", `dit-${w.name}.safetensors`);
  const modelDir = path.join(work, `dit-${w.name}-${precision}`);
  if (!existsSync(path.join(modelDir, "manifest.json"))) {
    let t = performance.now();
    progress(`writing the random ${w.name} DiT checkpoint`);
    if (!existsSync(ditFile)) await writeRandomDiTCheckpoint(ditFile, w.dit);
    times.ditCheckpoint = seconds(t);
    t = performance.now();
    progress(`converting the DiT to ${precision}`);
    await convertModel({ source: ditFile, outDir: modelDir, precision });
    times.ditConvert = seconds(t);
  }
  const vaeDir = path.join(work, `vae-${w.name}`);
  if (!existsSync(path.join(vaeDir, VAE_GRAPH_FILES.decoderStep))) {
    const vaeFile = path.join(work, "checkpoint", `vae-${w.name}.safetensors`);
    let t = performance.now();
    progress("writing the random VAE checkpoint and building the decoder graphs");
    await writeRandomVaeCheckpoint(vaeFile, w.vae, SEED);
    times.vaeCheckpoint = seconds(t);
    t = performance.now();
    mkdirSync(vaeDir, { recursive: true });
    const ck = await openVaeCheckpoint(vaeFile);
    try {
      await saveVaeGraphs(buildVaeGraphs(ck.store, ck.config, { parts: ["decoder"] }), vaeDir);
    } finally {
      await ck.store.close();
    }
    times.vaeGraphs = seconds(t);
  }
  const manifest = JSON.parse(readFileSync(path.join(modelDir, "manifest.json"), "utf8")) as Manifest;
  // Small decoders have no per-frame graph (vae-export.ts builds it only where it saves memory).
  const frameFile = path.join(vaeDir, VAE_GRAPH_FILES.decoderFrame);
  const vaeFiles = { ...VAE_GRAPH_FILES, decoderFrame: existsSync(frameFile) ? VAE_GRAPH_FILES.decoderFrame : undefined };
  return { modelDir, manifest, vaeDir, vaeFiles };
}

async function runDeviceBench(o: { providers: ExecutionProvider[]; steps: number; fp16: boolean; smoke: boolean; work: string }): Promise<DeviceBenchReport> {
  const w = o.smoke ? SMOKE : FULL;
  const { channels: C, frames: F, height: H, width: W } = w.latent;
  const precision = o.fp16 ? "fp16" : "fp32";
  const report: DeviceBenchReport = {
    workload: w.name,
    latent: [C, F, H, W],
    tokens: F * (H / w.dit.patchSize[1]) * (W / w.dit.patchSize[2]),
    video: { frames: videoFrameCount(F), height: H * VAE_SPATIAL_SCALE, width: W * VAE_SPATIAL_SCALE },
    ditPrecision: precision,
    provider: { requested: o.providers, sessions: [], rejected: [] },
    adapter: null,
    onnxruntime: ort.env.versions.common,
    node: process.version,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30) },
    buildSeconds: { ditCheckpoint: 0, ditConvert: 0, vaeCheckpoint: 0, vaeGraphs: 0 },
  };
  const gpu = GpuMemorySampler.start();
  try {
    const runtime = await resolveRuntime({ executionProviders: o.providers, threads: 0 });
    report.provider.sessions = runtime.providers;
    report.provider.rejected = runtime.rejected;
    report.adapter = runtime.adapter ?? null;
    mkdirSync(o.work, { recursive: true });
    gpu.phase("build");
    const { modelDir, manifest, vaeDir, vaeFiles } = await buildModels(w, precision, o.work, report.buildSeconds);

    // Denoising: the engine's loop. Opening the DiT on WebGPU writes its exact-attention twin once (runtime.ts).
    gpu.phase("dit");
    progress(`opening the DiT on ${runtime.providers.join(", ")}`);
    let t = performance.now();
    const dit = await DiTRunner.load(modelDir, manifest, runtime);
    const stepSeconds: number[] = [];
    const ditReport = (report.dit = {
      sessionSeconds: seconds(t),
      warmupSeconds: null as number | null,
      steps: o.steps,
      batch: 2,
      secondsPerStep: null as number | null,
      stepSeconds,
      clipProjection50StepsSeconds: null as number | null,
      finite: null as boolean | null,
    });
    const context = { data: gaussianNoise(SEED + 1, w.contextRows * w.dit.textDim), rows: w.contextRows };
    const negative = { data: gaussianNoise(SEED + 2, w.contextRows * w.dit.textDim), rows: w.contextRows };
    const noise = gaussianNoise(SEED, C * F * H * W);
    progress("warm-up call");
    resetDeviceTraffic();
    t = performance.now();
    await dit.predict({ latents: [noise, noise], shape: w.latent, timestep: 999, contexts: [context, negative] });
    ditReport.warmupSeconds = seconds(t);
    const warmupTraffic = { ...deviceTraffic };
    resetDeviceTraffic();
    let last = performance.now();
    const { latent } = await denoise({
      dit,
      // The 1.3B's sampling settings (models/manifest.ts), for the smoke run too: only guidance > 1 matters to
      // the timing (it makes the batch of 2).
      scheduler: createScheduler(WAN_1_3B_DEFAULTS.solver, { steps: o.steps, shift: WAN_1_3B_DEFAULTS.shift }),
      shape: w.latent,
      initial: noise,
      cond: context,
      uncond: negative,
      guidance: WAN_1_3B_DEFAULTS.guidance,
      onStep: () => {
        const now = performance.now();
        stepSeconds.push((now - last) / 1000);
        last = now;
        progress(`step ${stepSeconds.length}/${o.steps}: ${stepSeconds.at(-1)!.toFixed(2)} s`);
      },
    });
    await dit.release();
    ditReport.secondsPerStep = median(stepSeconds);
    ditReport.clipProjection50StepsSeconds = 50 * ditReport.secondsPerStep;
    ditReport.finite = latent.every(Number.isFinite);
    const stepTraffic = { ...deviceTraffic };

    // Decode: the streaming decoder over the 21 latent frames (its caches stay on the device on WebGPU).
    gpu.phase("decode");
    progress(`decoding ${F} latent frames`);
    t = performance.now();
    const sessions = await createVaeSessions(vaeDir, vaeFiles, runtime, "decoder");
    const vaeSessionSeconds = seconds(t);
    resetDeviceTraffic();
    t = performance.now();
    let frames = 0;
    for await (const chunk of decodeLatents(sessions, latent, F, H, W)) frames += chunk.t;
    report.decode = { sessionSeconds: vaeSessionSeconds, seconds: seconds(t), frames };
    await releaseVaeSessions(sessions);
    report.hostDeviceBytes = {
      warmup: warmupTraffic,
      steps: stepTraffic,
      decode: { ...deviceTraffic },
      perStep: Math.round((stepTraffic.hostToDevice + stepTraffic.deviceToHost) / o.steps),
    };
  } catch (e) {
    report.error = (e as Error).message.split("\n")[0].slice(0, 500);
  } finally {
    report.gpuMemory = await gpu.stop();
    report.peakHostRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  }
  return report;
}

function parseCli() {
  const { values } = parseArgs({
    options: {
      provider: { type: "string" },
      steps: { type: "string", default: "2" },
      fp16: { type: "boolean", default: false },
      smoke: { type: "boolean", default: false },
      work: { type: "string", default: path.join(os.tmpdir(), "wan-device-bench") },
      json: { type: "string" },
    },
  });
  // The full run must measure the GPU or fail; the smoke run takes whatever this machine has.
  const provider = values.provider as ExecutionProvider | undefined;
  if (provider !== undefined && !EXECUTION_PROVIDERS.includes(provider)) {
    throw new Error(`--provider: "${provider}" is not one of ${EXECUTION_PROVIDERS.join(", ")}`);
  }
  const providers: ExecutionProvider[] = provider ? [provider] : values.smoke ? ["webgpu", "cpu"] : ["webgpu"];
  const steps = Number(values.steps);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps: "${values.steps}" is not a whole number ≥ 1`);
  return { providers, steps, fp16: values.fp16!, smoke: values.smoke!, work: path.resolve(values.work!), json: values.json };
}

async function main(): Promise<void> {
  let cli: ReturnType<typeof parseCli>;
  try {
    cli = parseCli();
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  const report = await runDeviceBench(cli);
  const json = JSON.stringify(report);
  if (cli.json) writeFileSync(cli.json, json + "\n");
  console.log(json);
  process.exit(report.error ? 1 : 0);
}

await main();
