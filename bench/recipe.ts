/**
 * The whole text-to-video recipe at real size on the CPU, stages of `npm run bench` (bench/run.ts runs each in
 * its own process, so its peak RSS is its own): the random-weight Wan2.1-T2V-1.3B DiT (fp32 graph) and the
 * real-size VAE decoder at 416×240, 33 frames (latent [16, 9, 30, 52], 3,510 tokens), from seeded noise to an
 * H.264 file, sampled three ways:
 *
 *   recipe-guided-50      UniPC, 50 steps, guidance 6: each DiT call batches the conditional and the
 *                         unconditional branch (100 DiT evaluations)
 *   recipe-teacache-fast  the same with TeaCache "fast" (the speed preset; the DiT's stage graphs)
 *   recipe-rcm-4          the rCM recipe (lib/engine/schedulers/rcm.ts): 4 steps, one conditional call each
 *
 * Each reports wall seconds (denoise, decode + encode, total), DiT calls and batch elements. The text encoder is
 * not part of these (a random umT5-XXL would be 22.7 GB in fp32): the contexts are random embeddings, and the
 * `text-encode` stage times a real converted model's encoder when given `--text-model <dir>`.
 * With `--short` every stage runs a toy configuration (DiT dim 256, 2 layers; 64×48, 5 frames) to check the
 * stages work on a busy machine; the figures that count come without it.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { denoise } from "../lib/engine/denoise.ts";
import { DiTRunner, type LatentShape } from "../lib/engine/dit.ts";
import { loadModel } from "../lib/engine/model.ts";
import { gaussianNoise } from "../lib/engine/noise.ts";
import { openSession, type ResolvedRuntime } from "../lib/engine/runtime.ts";
import { createScheduler } from "../lib/engine/schedulers/create-scheduler.ts";
import { DISTILLED_RECIPE_SETTINGS } from "../lib/engine/schedulers/distilled-recipes.ts";
import { createVaeSessions, decodeLatents, releaseVaeSessions } from "../lib/engine/vae.ts";
import { WAN_1_3B_DEFAULTS } from "../models/manifest.ts";
import { createMp4Encoder } from "../lib/video/encoder.ts";
import { videoChunkToRgbFrames } from "../lib/video/frames.ts";
import { SPEED_PRESETS } from "../lib/engine/speed.ts";
import type { Speed } from "../lib/schemas/generation.ts";
import { buildTransformerGraphs, saveTransformerGraphs, TRANSFORMER_STAGE_FILES } from "../models/convert/transformer.ts";
import { VAE_GRAPH_FILES } from "../models/wan/vae-export.ts";
import { RecordingWeights } from "../models/weights/recording.ts";
import { WAN21_T2V_1_3B, type WanDiTConfig } from "../models/wan/dit.ts";

export type Row = Record<string, number | string | boolean>;

export type RecipeBenchContext = {
  work: string;
  runtime(): Promise<ResolvedRuntime>;
  /** The real-size VAE decoder graphs (random weights), built once. */
  realVaeDir(): Promise<string>;
  short: boolean;
  /** A converted real model whose text encoder `text-encode` times. */
  textModel?: string;
};

type Scale = { dit: WanDiTConfig; width: number; height: number; frames: number; contextRows: number };

const FULL: Scale = { dit: WAN21_T2V_1_3B, width: 416, height: 240, frames: 33, contextRows: 64 };
const SHORT: Scale = {
  dit: { ...WAN21_T2V_1_3B, dim: 256, ffnDim: 1024, numHeads: 2, numLayers: 2 },
  width: 64,
  height: 48,
  frames: 5,
  contextRows: 16,
};

type Sampling = { solver: "unipc" | "rcm"; steps: number; guidance: number; shift: number; speed?: Speed };

/** The official 1.3B settings (50 steps, guidance 6, shift 8, UniPC) and the rCM recipe. */
const GUIDED_50: Sampling = { solver: "unipc", steps: WAN_1_3B_DEFAULTS.steps, guidance: WAN_1_3B_DEFAULTS.guidance, shift: WAN_1_3B_DEFAULTS.shift };
const TEACACHE_FAST: Sampling = { ...GUIDED_50, speed: "fast" };
const RCM_4: Sampling = { solver: "rcm", steps: DISTILLED_RECIPE_SETTINGS.rcm.steps, guidance: DISTILLED_RECIPE_SETTINGS.rcm.guidance, shift: WAN_1_3B_DEFAULTS.shift };

const seconds = (t0: number) => (performance.now() - t0) / 1000;

/** The random-weight DiT graphs (fp32; the whole graph and the stage graphs step caching runs), built once. */
async function ditDir(ctx: RecipeBenchContext, cfg: WanDiTConfig): Promise<string> {
  const dir = path.join(ctx.work, `recipe-dit-${cfg.dim}x${cfg.numLayers}`);
  if (!existsSync(path.join(dir, TRANSFORMER_STAGE_FILES.head))) {
    mkdirSync(dir, { recursive: true });
    await saveTransformerGraphs(buildTransformerGraphs(new RecordingWeights("transformer", "random"), cfg, "fp32"), dir);
  }
  return dir;
}

/** Seeded noise → denoised latent → VAE decode → H.264, timed, with the DiT's calls counted. */
async function runRecipe(ctx: RecipeBenchContext, sampling: Sampling): Promise<Row> {
  const scale = ctx.short ? SHORT : FULL;
  const cfg = scale.dit;
  const rt = await ctx.runtime();
  const dir = await ditDir(ctx, cfg);
  const open = (file: string) => openSession(path.join(dir, file), rt);
  // The stage graphs when a step cache runs (it skips the blocks), else the whole graph.
  const dit = sampling.speed
    ? new DiTRunner({ embedding: await open(TRANSFORMER_STAGE_FILES.embedding), blocks: await open(TRANSFORMER_STAGE_FILES.blocks), head: await open(TRANSFORMER_STAGE_FILES.head) }, cfg, rt)
    : new DiTRunner(await open("transformer.onnx"), cfg, rt);
  const vae = await createVaeSessions(await ctx.realVaeDir(), VAE_GRAPH_FILES, rt, "decoder");

  let calls = 0;
  let evaluations = 0;
  const predict = dit.predict.bind(dit);
  dit.predict = (call) => {
    calls++;
    evaluations += call.latents.length;
    return predict(call);
  };
  const shape: LatentShape = { channels: cfg.inDim, frames: 1 + (scale.frames - 1) / 4, height: scale.height / 8, width: scale.width / 8 };
  const count = shape.channels * shape.frames * shape.height * shape.width;
  const context = (seed: number) => ({ data: gaussianNoise(seed, scale.contextRows * cfg.textDim).map((v) => 0.2 * v), rows: scale.contextRows });
  const seed = 1;

  const t0 = performance.now();
  // Per-step wall times: a cached step costs only the embedding and head, a computed one the whole DiT.
  const stepTimes: number[] = [];
  let stepStart = t0;
  const scheduler = createScheduler(sampling.solver, { steps: sampling.steps, shift: sampling.shift, seed });
  const { latent, ditCalls } = await denoise({
    dit,
    scheduler,
    shape,
    initial: scheduler.initialSample(gaussianNoise(seed, count)),
    cond: context(2),
    uncond: context(3),
    guidance: sampling.guidance,
    stepCache: sampling.speed ? SPEED_PRESETS[sampling.speed] : null,
    onStep() {
      const now = performance.now();
      stepTimes.push((now - stepStart) / 1000);
      stepStart = now;
      // A real-size run takes an hour or more: its progress on stderr keeps the figures of a run cut short.
      process.stderr.write(`  step ${stepTimes.length}/${sampling.steps}: ${stepTimes.at(-1)!.toFixed(1)} s\n`);
    },
  });
  const denoiseS = seconds(t0);

  const t1 = performance.now();
  const file = path.join(ctx.work, `recipe-${sampling.solver}-${sampling.speed ?? "exact"}.mp4`);
  const encoder = createMp4Encoder({ file, width: scale.width, height: scale.height, fps: WAN_1_3B_DEFAULTS.fps });
  let frames = 0;
  for await (const chunk of decodeLatents(vae, latent, shape.frames, shape.height, shape.width)) {
    for (const rgb of videoChunkToRgbFrames(chunk.frames, { frames: chunk.t, height: scale.height, width: scale.width })) await encoder.writeFrame(rgb);
    frames += chunk.t;
  }
  await encoder.finish();
  const decodeS = seconds(t1);
  rmSync(file, { force: true });
  await releaseVaeSessions(vae);
  return {
    totalS: seconds(t0),
    denoiseS,
    decodeS,
    ditCalls: calls,
    ditEvaluations: evaluations,
    ditPassesSkipped: ditCalls.skipped,
    slowestStepS: Math.max(...stepTimes),
    fastestStepS: Math.min(...stepTimes),
    stepTimesS: stepTimes.map((t) => t.toFixed(2)).join(" "),
    speed: sampling.speed ?? "exact",
    steps: sampling.steps,
    guidance: sampling.guidance,
    solver: sampling.solver,
    size: `${scale.width}x${scale.height}`,
    frames,
    tokens: shape.frames * (shape.height / 2) * (shape.width / 2),
    dit: `dim ${cfg.dim}, ${cfg.numLayers} layers`,
    ...(ctx.short ? { short: true } : { targetS: sampling.solver === "rcm" ? 480 : "" }),
  };
}

/** One prompt through a real converted model's umT5 (the part the recipe stages leave out). */
async function textEncode(ctx: RecipeBenchContext): Promise<Row> {
  if (!ctx.textModel) return { measured: false, needs: "--text-model <a converted Wan 2.1 folder>" };
  const model = await loadModel(path.resolve(ctx.textModel), await ctx.runtime(), { textEncoderOnCpu: true });
  const t0 = performance.now();
  await model.prompts.encode("a red kite over green hills on a windy afternoon, the camera slowly pans to follow it");
  const encodeS = seconds(t0);
  await model.release();
  return { encodeS, precision: model.manifest.components.textEncoder?.precision ?? "" };
}

export function recipeStages(ctx: RecipeBenchContext): Record<string, () => Promise<Row>> {
  return {
    "recipe-guided-50": () => runRecipe(ctx, GUIDED_50),
    "recipe-teacache-fast": () => runRecipe(ctx, TEACACHE_FAST),
    "recipe-rcm-4": () => runRecipe(ctx, RCM_4),
    "text-encode": () => textEncode(ctx),
  };
}
