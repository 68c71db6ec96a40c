/**
 * `npm run generate -- --prompt "..." [--negative ...] [--model <dir>] [--width --height --frames|--seconds
 *   --steps --guidance --shift --solver --seed --grid --speed] --out out.mp4`
 *
 * Generates one video with the same engine and the same parameter schema the studio uses; with --image it
 * animates an image (image-to-video), with --video it restyles a clip (video-to-video). Without --model
 * it uses the studio's models folder (MODELS_DIR), preparing the built-in tiny model first when none is
 * installed. Defaults come from the model: the official ones for Wan2.1-T2V-1.3B (832×480, 81 frames, 50
 * steps, guidance 6, shift 8, UniPC), small ones for the tiny model, and a distilled model's recipe (rCM: 4
 * steps, the rcm sampler, guidance off).
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { loadConfig } from "../lib/config.ts";
import { CanceledError } from "../lib/engine/cancel.ts";
import { loadModel } from "../lib/engine/model.ts";
import { recipeIssue } from "../lib/engine/schedulers/distilled-recipes.ts";
import { WanPipeline } from "../lib/engine/pipeline.ts";
import { describeRuntime, resolveRuntime } from "../lib/engine/runtime.ts";
import { defaultModel, loadModels } from "../lib/jobs/model-catalog.ts";
import { ensureDefaultModel } from "../lib/model-library/default-model.ts";
import { firstIssue, framesForSeconds, storedParamsSchema } from "../lib/schemas/generation.ts";
import { readManifest } from "../models/manifest.ts";
import { mp4FileSink } from "../lib/video/encoder.ts";
import { ProgressBar } from "./progress-bar.ts";

const USAGE = `usage: npm run generate -- --prompt "..." --out out.mp4 [--negative "..."] [--model <dir>]
       [--width W --height H] [--frames N | --seconds S] [--steps N] [--guidance G] [--shift S]
       [--solver unipc|dpmpp|euler|rcm] [--grid official|diffusers] [--speed exact|fast|faster] [--seed N] [--threads N]
       [--image in.png [--fit crop|pad]] [--video in.mp4 [--strength 0.6]]
  With --image (or --video), --width/--height is the pixel budget; the output keeps the input's aspect.
  A distilled model (rCM) defaults to its recipe: 1–4 steps with --solver rcm, guidance 1.`;

class UsageError extends Error {}

const NUMBER_FLAGS = ["width", "height", "frames", "seconds", "steps", "guidance", "shift", "seed", "threads", "strength"] as const;

async function resolveModelDir(model: string | undefined): Promise<string> {
  if (model) return path.resolve(model);
  const cfg = loadConfig();
  await ensureDefaultModel(cfg.modelsDir, (line) => console.error(line));
  const chosen = defaultModel(await loadModels(cfg.modelsDir));
  if (!chosen) throw new Error(`no usable model in ${cfg.modelsDir}`);
  return path.join(cfg.modelsDir, chosen.name);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      prompt: { type: "string" },
      negative: { type: "string" },
      model: { type: "string" },
      out: { type: "string" },
      solver: { type: "string" },
      grid: { type: "string" },
      speed: { type: "string" },
      image: { type: "string" },
      video: { type: "string" },
      fit: { type: "string" },
      ...Object.fromEntries(NUMBER_FLAGS.map((f) => [f, { type: "string" as const }])),
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.out) throw new UsageError("--out <file.mp4> is required");
  const numbers: Partial<Record<(typeof NUMBER_FLAGS)[number], number>> = {};
  for (const flag of NUMBER_FLAGS) {
    const raw = (values as Record<string, string | undefined>)[flag];
    if (raw === undefined) continue;
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${flag} must be a number (got "${raw}")`);
    numbers[flag] = n;
  }
  if (numbers.frames !== undefined && numbers.seconds !== undefined) throw new UsageError("give --frames or --seconds, not both");
  if (values.image && values.video) throw new UsageError("give --image or --video, not both");
  if (values.fit !== undefined && !values.image) throw new UsageError("--fit applies to --image");
  if (numbers.strength !== undefined && !values.video) throw new UsageError("--strength applies to --video");
  const kind = values.image ? "i2v" : values.video ? "v2v" : "t2v";
  const input = values.image ?? values.video;
  if (input && !existsSync(input)) throw new UsageError(`--${values.image ? "image" : "video"}: ${input} does not exist`);

  const modelDir = await resolveModelDir(values.model);
  const manifest = await readManifest(modelDir);
  const d = manifest.defaults;
  const request = {
    prompt: values.prompt,
    negativePrompt: values.negative,
    width: numbers.width ?? d.width,
    height: numbers.height ?? d.height,
    frames: numbers.seconds !== undefined ? framesForSeconds(numbers.seconds, d.fps) : (numbers.frames ?? d.frames),
    steps: numbers.steps ?? d.steps,
    guidance: numbers.guidance ?? d.guidance,
    shift: numbers.shift ?? d.shift,
    solver: values.solver ?? d.solver,
    grid: values.grid,
    speed: values.speed,
    seed: numbers.seed,
    fit: values.fit,
    strength: numbers.strength,
  };
  let params;
  try {
    params = storedParamsSchema.parse(request);
  } catch (e) {
    if (e instanceof z.ZodError) {
      const { field, message } = firstIssue(e);
      throw new UsageError(`--${field === "negativePrompt" ? "negative" : field}: ${message}`);
    }
    throw e;
  }
  const recipe = recipeIssue(params, manifest.recipe ?? null, manifest.name);
  if (recipe) throw new UsageError(`--${recipe.field}: ${recipe.message}`);

  const runtime = await resolveRuntime({ executionProviders: loadConfig().executionProviders, threads: numbers.threads ?? 0 });
  console.error(`execution provider: ${describeRuntime(runtime)}`);
  console.error(`model ${manifest.name}; ${params.width}×${params.height}, ${params.frames} frames, ${params.steps} steps, speed ${params.speed}`);
  const model = await loadModel(modelDir, runtime);
  const out = path.resolve(values.out);
  await mkdir(path.dirname(out), { recursive: true });
  const work = await mkdtemp(path.join(os.tmpdir(), "wan-generate-"));
  const controller = new AbortController();
  process.once("SIGINT", () => {
    console.error("\ncanceling…");
    controller.abort();
  });
  const bar = new ProgressBar();
  try {
    const request = { ...params, kind, input: input && path.resolve(input) } as const;
    const result = await new WanPipeline(model).generate(request, mp4FileSink(work), {
      signal: controller.signal,
      onSeed: (seed) => console.error(`seed ${seed}`),
      onProgress: (p) => {
        const eta = p.etaS !== null ? `, ${Math.ceil(p.etaS)} s left` : "";
        bar.update(p.phase === "denoise" ? p.step / p.total : p.phase === "decode" ? p.step / p.total : 0, `${p.phase} ${p.step}/${p.total}${eta}`);
      },
    });
    bar.done();
    // The pipeline writes into a scratch folder; the MP4 is moved (or copied across file systems) into place.
    await rename(result.videoFile, out).catch(() => copyFile(result.videoFile, out));
    const poster = out.replace(/\.mp4$/i, "") + ".jpg";
    await rename(result.posterFile, poster).catch(() => copyFile(result.posterFile, poster));
    console.log(JSON.stringify({ file: out, poster, ...result, videoFile: undefined, posterFile: undefined }, null, 2));
  } finally {
    await model.release();
    await rm(work, { recursive: true, force: true });
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    if (e instanceof CanceledError) {
      console.error("canceled");
      process.exit(130);
    }
    console.error(`error: ${e.message}`);
    if (e instanceof UsageError) console.error(USAGE);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
