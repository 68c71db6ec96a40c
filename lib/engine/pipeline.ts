/**
 * The generation pipeline: prompt → umT5 embeddings → seeded noise → flow-matching sampling with the DiT →
 * streaming VAE decode, one latent frame at a time, straight into ffmpeg → MP4 + poster, with the settings
 * embedded in the file. Like a Diffusers pipeline it composes the model parts and owns no math of its own.
 *
 * Everything here is web-, queue- and database-free: the worker, the CLI and the tests call the same code.
 */
import path from "node:path";
import { createMp4Encoder } from "../video/encoder.ts";
import { videoChunkToRgbFrames } from "../video/frames.ts";
import { settingsToMp4Metadata } from "../video/metadata.ts";
import { writePoster } from "../video/poster.ts";
import { encodePreviewWebp } from "../video/preview.ts";
import type { GenerationParams } from "../schemas/generation.ts";
import { CanceledError, denoise, throwIfCanceled } from "./denoise.ts";
import type { LoadedModel } from "./model.ts";
import { gaussianNoise, randomSeed } from "./noise.ts";
import { PhaseClock } from "./progress.ts";
import { createScheduler } from "./schedulers/create-scheduler.ts";
import { effectiveNegativePrompt } from "./text/negative-prompt.ts";
import { decodeLatents, latentFrameCount } from "./vae.ts";

export const ENGINE_VERSION = "wan-studio 0.1.0";

export type GenerationPhase = "load" | "text" | "denoise" | "decode";

export type GenerationProgress = {
  phase: GenerationPhase;
  /** Steps done in this phase (denoising steps, or decoded latent frames). */
  step: number;
  total: number;
  elapsedS: number;
  /** Seconds left for the whole generation, when it can be estimated. */
  etaS: number | null;
};

export type GenerationCallbacks = {
  signal?: AbortSignal;
  onProgress?: (p: GenerationProgress) => void;
  /** A small animated WebP of the current latent, every few steps. */
  onPreview?: (webp: Uint8Array, step: number) => void;
  /** The seed actually used, as soon as it is known (a random one is drawn when none was asked for). */
  onSeed?: (seed: number) => void;
};

export type GenerationResult = {
  seed: number;
  videoFile: string;
  posterFile: string;
  timings: Record<string, number>;
  width: number;
  height: number;
  frames: number;
  /** The settings embedded in the MP4 (prompt, negative prompt, seed, steps, …, model, engine version). */
  settings: Record<string, unknown>;
};

export type GenerationRequest = GenerationParams & { kind?: "t2v" };

/** How often a preview is made: about ten over a run, never more than every step. */
function previewEvery(steps: number): number {
  return Math.max(1, Math.round(steps / 10));
}

export class WanPipeline {
  constructor(readonly model: LoadedModel) {}

  /** Checks the request against this model (sizes divisible by the VAE and patch grid, a text encoder present). */
  validate(req: GenerationParams): void {
    const m = this.model;
    const multiple = m.vaeScale * m.dit.config.patchSize[1];
    if (req.width % multiple || req.height % multiple) {
      throw new RangeError(`width and height must be multiples of ${multiple} for this model (got ${req.width}×${req.height})`);
    }
    if (m.dit.config.modelType !== "t2v") throw new RangeError(`model ${m.name} is an image-to-video model: give it an image`);
  }

  async generate(req: GenerationRequest, outDir: string, cb: GenerationCallbacks = {}): Promise<GenerationResult> {
    this.validate(req);
    const m = this.model;
    const clock = new PhaseClock();
    const report = (phase: GenerationPhase, step: number, total: number) =>
      cb.onProgress?.({ phase, step, total, elapsedS: clock.elapsed(), etaS: clock.eta(phase, step, total) });

    // Text: the prompt and (when guidance is on) the negative prompt — the official default when none is given.
    clock.start("text");
    report("text", 0, 1);
    const negativePrompt = effectiveNegativePrompt(req.negativePrompt, "t2v");
    const cond = await m.prompts.encode(req.prompt);
    const uncond = req.guidance > 1 ? await m.prompts.encode(negativePrompt) : cond;
    throwIfCanceled(cb.signal);

    // Noise from the seed (documented generator: lib/engine/noise.ts).
    const seed = req.seed ?? randomSeed();
    cb.onSeed?.(seed);
    const shape = {
      channels: m.zDim,
      frames: latentFrameCount(req.frames),
      height: req.height / m.vaeScale,
      width: req.width / m.vaeScale,
    };
    const noise = gaussianNoise(seed, shape.channels * shape.frames * shape.height * shape.width);

    clock.start("denoise");
    clock.expectLatentFrames(shape.frames);
    const scheduler = createScheduler(req.solver, { steps: req.steps, shift: req.shift, grid: req.grid });
    report("denoise", 0, req.steps);
    const every = previewEvery(req.steps);
    const { latent } = await denoise({
      dit: m.dit,
      scheduler,
      shape,
      initial: noise,
      cond: { data: cond.data, rows: cond.rows },
      uncond: { data: uncond.data, rows: uncond.rows },
      guidance: req.guidance,
      signal: cb.signal,
      onStep: async ({ step, total, latent }) => {
        report("denoise", step, total);
        if (cb.onPreview && m.preview && (step % every === 0 || step === total)) {
          const webp = await encodePreviewWebp(latent, shape, m.preview, { scale: previewScale(shape.width) });
          cb.onPreview(webp.data, step);
        }
      },
    });

    const settings = {
      kind: "t2v",
      prompt: req.prompt,
      negativePrompt,
      seed,
      steps: req.steps,
      guidance: req.guidance,
      shift: req.shift,
      solver: req.solver,
      grid: req.grid,
      model: m.name,
      width: req.width,
      height: req.height,
      frames: req.frames,
      fps: m.fps,
      version: ENGINE_VERSION,
      executionProviders: m.executionProviders,
    };
    const files = await this.decodeToMp4(latent, shape, outDir, settings, clock, report, cb.signal);
    return { seed, ...files, timings: clock.timings(), width: req.width, height: req.height, frames: req.frames, settings };
  }

  /**
   * Streams the latent through the VAE decoder into ffmpeg: each latent frame becomes 1 (first) or 4 video
   * frames that are written immediately, so memory does not grow with the video's length. The first frame
   * is also the poster. A cancel between chunks removes the partial file.
   */
  async decodeToMp4(
    latent: Float32Array,
    shape: { channels: number; frames: number; height: number; width: number },
    outDir: string,
    settings: Record<string, unknown>,
    clock: PhaseClock,
    report: (phase: GenerationPhase, step: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<{ videoFile: string; posterFile: string }> {
    const m = this.model;
    const width = shape.width * m.vaeScale;
    const height = shape.height * m.vaeScale;
    clock.start("decode");
    report("decode", 0, shape.frames);
    const videoFile = path.join(outDir, "video.mp4");
    const posterFile = path.join(outDir, "poster.jpg");
    const encoder = createMp4Encoder({ file: videoFile, width, height, fps: m.fps, metadata: settingsToMp4Metadata(settings) });
    try {
      let index = 0;
      for await (const chunk of decodeLatents(m.vae, latent, shape.frames, shape.height, shape.width, { signal })) {
        const rgbFrames = videoChunkToRgbFrames(chunk.frames, { frames: chunk.t, height, width });
        if (index === 0) await writePoster(rgbFrames[0], width, height, posterFile, { format: "jpeg" });
        for (const rgb of rgbFrames) await encoder.writeFrame(rgb);
        index++;
        report("decode", index, shape.frames);
      }
      throwIfCanceled(signal);
      await encoder.finish();
    } catch (e) {
      await encoder.abort();
      throw isAbort(e) ? new CanceledError() : e;
    }
    clock.stop();
    return { videoFile, posterFile };
  }
}

/** Previews are upscaled from the latent grid (1/8 of the video) to roughly 256 px wide. */
function previewScale(latentWidth: number): number {
  return Math.min(16, Math.max(1, Math.round(256 / latentWidth)));
}

function isAbort(e: unknown): boolean {
  return e instanceof CanceledError || (e instanceof Error && (e.name === "AbortError" || e.name === "CanceledError"));
}
