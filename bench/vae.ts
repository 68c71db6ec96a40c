/**
 * Wan VAE decode benchmark on CPU: the real-size decoder (base dim 96, dim_mult [1,2,4,4], official wan/modules/vae.py, _video_vae) with
 * seeded random weights, decoding a latent [16, 3, 30, 52] → 9 frames of 240×416. Compares the temporal-conv
 * variants (vae-ops.ts) and ONNX Runtime session settings, and checks that peak memory does not grow with
 * video length (9 vs 81 frames at a smaller size). Every measurement runs in its own child process, so peak
 * RSS (process.resourceUsage().maxRSS) is per run.
 *
 *   npx tsx bench/vae.ts              full matrix (about 15–25 minutes on 2 cores)
 *   npx tsx bench/vae.ts --quick      the default variant and settings only, plus the memory check
 *   npx tsx bench/vae.ts --variants   the three conv variants with the default settings only
 *
 * Prints a table and JSON, and writes the JSON to bench/results/vae.json.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { openSession } from "../lib/engine/runtime.ts";
import { decodeLatents } from "../lib/engine/vae.ts";
import { DEFAULT_VAE_CONV } from "../models/wan/vae.ts";
import { WAN21_VAE_CONFIG } from "../models/wan/vae-layout.ts";
import { buildVaeGraphs, openVaeCheckpoint, saveVaeGraphs, VAE_GRAPH_FILES } from "../models/wan/vae-export.ts";
import { VAE_CONV_VARIANTS, type VaeConvVariant } from "../models/wan/vae-ops.ts";
import { normals, writeRandomVaeCheckpoint } from "./random-checkpoint.ts";

const SEED = 20260101;
const here = path.dirname(fileURLToPath(import.meta.url));
const work = path.join(os.tmpdir(), "wan-vae-bench");

type Settings = {
  optimization: "disabled" | "basic" | "extended" | "all";
  threads: number;
  /** CPU memory arena of the per-frame session (4 runs per latent) / the step session / the first-chunk session (which runs once). */
  arena: boolean;
  stepArena: boolean;
  firstArena: boolean;
  memPattern: boolean;
  spinning: boolean;
};
/** What lib/engine/vae.ts `vaeSessionOptions` applies on top of runtime.ts `sessionOptions` on a 2-core CPU. */
const DEFAULT_SETTINGS: Settings = {
  optimization: "all",
  threads: 2,
  arena: true,
  stepArena: true,
  firstArena: false,
  memPattern: false,
  spinning: true,
};

type Job = { label: string; variant: VaeConvVariant; settings: Settings; latent: [number, number, number]; save?: string };
type Result = Job & {
  sessionSeconds: number;
  decodeSeconds: number;
  chunkSeconds: number[];
  /** Resident memory after each chunk: flat after the first steps when streaming works. */
  chunkRssMiB: number[];
  cpuSeconds: number;
  maxRssMiB: number;
  frames: number;
  load: number;
};

async function buildDecoder(checkpoint: string, variant: VaeConvVariant): Promise<string> {
  const dir = path.join(work, variant);
  // The newest graph file: a folder from before the per-frame split is rebuilt.
  if (existsSync(path.join(dir, VAE_GRAPH_FILES.decoderFrame))) return dir;
  mkdirSync(dir, { recursive: true });
  const ck = await openVaeCheckpoint(checkpoint);
  try {
    await saveVaeGraphs(buildVaeGraphs(ck.store, ck.config, { conv: variant, parts: ["decoder"] }), dir);
  } finally {
    await ck.store.close();
  }
  return dir;
}

// --- one measurement (child process) ------------------------------------------------------------------------

function sessionOptions(s: Settings, graph: "first" | "step" | "frame"): Partial<ort.InferenceSession.SessionOptions> {
  return {
    graphOptimizationLevel: s.optimization,
    enableCpuMemArena: { first: s.firstArena, step: s.stepArena, frame: s.arena }[graph],
    enableMemPattern: s.memPattern,
    extra: { session: { intra_op: { allow_spinning: s.spinning ? "1" : "0" } } },
  };
}

async function child(job: Job): Promise<Result> {
  const dir = path.join(work, job.variant);
  const t0 = performance.now();
  const open = (graph: "first" | "step" | "frame", file: string) =>
    openSession(path.join(dir, file), { providers: ["cpu"], rejected: [], threads: job.settings.threads }, { tune: sessionOptions(job.settings, graph) });
  const first = await open("first", VAE_GRAPH_FILES.decoderFirst);
  const step = await open("step", VAE_GRAPH_FILES.decoderStep);
  const frame = await open("frame", VAE_GRAPH_FILES.decoderFrame);
  const sessionSeconds = (performance.now() - t0) / 1000;
  const [F, h, w] = job.latent;
  const z = normals(SEED + 1);
  const latent = Float32Array.from({ length: 16 * F * h * w }, () => z());
  const cpu0 = process.cpuUsage();
  const t1 = performance.now();
  const chunkSeconds: number[] = [];
  const chunkRssMiB: number[] = [];
  let frames = 0;
  let last = t1;
  const saved: Float32Array[] = [];
  for await (const chunk of decodeLatents({ decoderFirst: first, decoderStep: step, decoderFrame: frame }, latent, F, h, w)) {
    const now = performance.now();
    chunkSeconds.push((now - last) / 1000);
    chunkRssMiB.push(Math.round(process.memoryUsage().rss / 2 ** 20));
    last = now;
    frames += chunk.t;
    if (job.save) saved.push(chunk.frames);
  }
  const decodeSeconds = (performance.now() - t1) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (job.save) writeFileSync(job.save, Buffer.concat(saved.map((s) => Buffer.from(s.buffer, s.byteOffset, s.byteLength))));
  await Promise.all([first, step, frame].map((s) => s.release()));
  return {
    ...job,
    sessionSeconds,
    decodeSeconds,
    chunkSeconds,
    chunkRssMiB,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    frames,
    load: os.loadavg()[0],
  };
}

function runChild(job: Job): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--child", JSON.stringify(job)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || !line) reject(new Error(`${job.label}: child exited with ${code}\n${out}`));
      else resolve(JSON.parse(line.slice(7)) as Result);
    });
  });
}

// --- the matrix (parent) ------------------------------------------------------------------------------------

function maxAbsDiff(a: string, b: string): number {
  const x = new Float32Array(new Uint8Array(readFileSync(a)).buffer);
  const y = new Float32Array(new Uint8Array(readFileSync(b)).buffer);
  if (x.length !== y.length) return Infinity;
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const onlyVariants = process.argv.includes("--variants");
  mkdirSync(work, { recursive: true });
  const checkpoint = path.join(work, `wan21_vae_random_${SEED}.safetensors`);
  console.log(`random real-size checkpoint: ${checkpoint}`);
  if (!existsSync(checkpoint)) await writeRandomVaeCheckpoint(checkpoint, WAN21_VAE_CONFIG, SEED);
  const variants = quick ? [DEFAULT_VAE_CONV] : [...VAE_CONV_VARIANTS];
  for (const v of variants) await buildDecoder(checkpoint, v);

  const real: [number, number, number] = [3, 30, 52];
  const jobs: Job[] = [];
  for (const v of variants) {
    jobs.push({ label: `${v}`, variant: v, settings: DEFAULT_SETTINGS, latent: real, save: path.join(work, `${v}.f32`) });
  }
  if (!quick && !onlyVariants) {
    const v = DEFAULT_VAE_CONV;
    const variantsOf: [string, Partial<Settings>][] = [
      ["opt extended (no NCHWc layout)", { optimization: "extended" }],
      ["opt basic", { optimization: "basic" }],
      ["opt disabled", { optimization: "disabled" }],
      ["1 thread", { threads: 1 }],
      ["memory patterns on", { memPattern: true }],
      ["arena on for the first-chunk graph too", { firstArena: true }],
      ["no arena for the step graph", { stepArena: false }],
      ["no memory arena", { arena: false, stepArena: false }],
      ["no spinning", { spinning: false }],
    ];
    for (const [label, s] of variantsOf) {
      jobs.push({ label: `${v}, ${label}`, variant: v, settings: { ...DEFAULT_SETTINGS, ...s }, latent: real });
    }
  }
  // Streaming memory check: 9 vs 81 frames at 96×128 (latent 12×16).
  const memory = (F: number): Job => ({
    label: `memory ${1 + 4 * (F - 1)} frames 96×128`,
    variant: DEFAULT_VAE_CONV,
    settings: DEFAULT_SETTINGS,
    latent: [F, 12, 16],
  });
  if (!onlyVariants) jobs.push(memory(3), memory(21));

  const results: Result[] = [];
  for (const job of jobs) {
    const r = await runChild(job);
    results.push(r);
    console.log(
      `${r.label.padEnd(44)} decode ${r.decodeSeconds.toFixed(1).padStart(6)} s  cpu ${r.cpuSeconds.toFixed(1).padStart(6)} s  ` +
        `sessions ${r.sessionSeconds.toFixed(1)} s  peak RSS ${r.maxRssMiB.toFixed(0)} MiB  load ${r.load.toFixed(2)}`,
    );
  }

  const ref = results[0].save!;
  const agreement = Object.fromEntries(
    results.filter((r) => r.save && r.save !== ref).map((r) => [`${r.variant} vs ${results[0].variant}`, maxAbsDiff(r.save!, ref)]),
  );
  const [m9, m81] = onlyVariants ? [undefined, undefined] : results.slice(-2);
  const summary = {
    machine: `${os.cpus()[0]?.model ?? "cpu"} × ${os.cpus().length}`,
    ort: ort.env.versions.common,
    latent: [16, ...real],
    output: `${results[0].frames} frames of ${real[1] * 8}×${real[2] * 8}`,
    defaultVariant: DEFAULT_VAE_CONV,
    results: results.map(({ save: _save, ...r }) => r),
    variantAgreementMaxAbs: agreement,
    memoryRatio81vs9: m9 && m81 ? m81.maxRssMiB / m9.maxRssMiB : null,
  };
  console.log("\n| run | decode s | cpu s | sessions s | peak RSS MiB | per chunk s |");
  console.log("|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(
      `| ${r.label} | ${r.decodeSeconds.toFixed(1)} | ${r.cpuSeconds.toFixed(1)} | ${r.sessionSeconds.toFixed(1)} | ${r.maxRssMiB.toFixed(0)} | ${r.chunkSeconds
        .map((s) => s.toFixed(1))
        .join(", ")} |`,
    );
  }
  console.log(`\nvariants agree to ${JSON.stringify(agreement)}; peak RSS 81 vs 9 frames: ${summary.memoryRatio81vs9?.toFixed(3) ?? "not measured"}×`);
  console.log(JSON.stringify(summary, null, 2));
  mkdirSync(path.join(here, "results"), { recursive: true });
  writeFileSync(path.join(here, "results", "vae.json"), JSON.stringify(summary, null, 2));
  if (!process.argv.includes("--keep")) for (const r of results) if (r.save) rmSync(r.save, { force: true });
}

if (process.argv.includes("--child")) {
  const job = JSON.parse(process.argv[process.argv.indexOf("--child") + 1]) as Job;
  child(job).then(
    (r) => console.log(`RESULT ${JSON.stringify(r)}`),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
