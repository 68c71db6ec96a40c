/**
 * The generation pipeline: prompt → umT5 embeddings → (input image or video → conditioning) → seeded noise →
 * flow-matching sampling with the DiT → streaming VAE decode, one latent frame at a time, handed frame by
 * frame to a VideoSink (the worker and the CLI pass lib/video/encoder.ts `mp4FileSink`: MP4 + poster, with
 * the settings embedded). Like a Diffusers pipeline it composes the model parts and owns no math of its own.
 *
 * Everything here is web-, queue- and database-free: the worker, the CLI and the tests call the same code.
 */
import { outputSizeForPreset, type Size } from "../images/fit.ts";
import { prepareImage, rgbToTensor } from "../images/prepare.ts";
import { decodeVideoFrames } from "../video/decode.ts";
import { videoChunkToRgbFrames } from "../video/frames.ts";
import { encodePreviewWebp } from "../video/preview.ts";
import { probeVideo } from "../video/probe.ts";
import { DEFAULT_FIT, DEFAULT_V2V_STRENGTH, validFramesWithin, type StoredParams } from "../schemas/generation.ts";
import type { GenerationPhase } from "../schemas/job-vocabulary.ts";
import { encodeImage } from "./clip.ts";
import { imageConditionY, imageLatent, latentShapeFor, startStepForStrength } from "./conditioning.ts";
import { CanceledError, isCancellation, throwIfCanceled } from "./cancel.ts";
import { checkpointFingerprint, CheckpointFormatError, CheckpointMismatchError, decodeCheckpoint, encodeCheckpoint, type DenoiseCheckpoint } from "./checkpoint.ts";
import { denoise, type DenoiseResult, type FirstFrameCondition } from "./denoise.ts";
import type { LatentShape } from "./dit.ts";
import type { LoadedModel } from "./model.ts";
import { gaussianNoise, randomSeed } from "./noise.ts";
import { PhaseClock } from "./progress.ts";
import { createScheduler } from "./schedulers/create-scheduler.ts";
import { recipeIssue } from "./schedulers/distilled-recipes.ts";
import { SPEED_PRESETS } from "./speed.ts";
import type { DiTCallCount } from "./step-cache.ts";
import { forwardNoise } from "./schedulers/forward-noise.ts";
import { negativePromptFor } from "./text/negative-prompt.ts";
import { decodeLatents, encodeFrames } from "./vae.ts";

export const ENGINE_VERSION = "wan-studio 0.1.0";

export type { GenerationPhase };

export type GenerationProgress = {
  phase: GenerationPhase;
  /** Steps done in this phase (denoising steps, encoded or decoded latent frames). */
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
  /** Denoising checkpoints (a worker stores them in the job's folder to resume after a crash). */
  checkpoints?: CheckpointHooks;
};

/**
 * Taking denoising checkpoints and continuing from one (checkpoint.ts). The engine encodes and checks them; the
 * caller only stores bytes.
 */
export type CheckpointHooks = {
  /** A checkpoint after every `every`-th denoising step; 0: only when `requested`. */
  every: number;
  /** Asked after each denoising step: true writes a checkpoint of that step now. */
  requested?: () => boolean;
  /** Stores a checkpoint; the run waits for it. */
  write(bytes: Uint8Array, step: number, total: number): Promise<void>;
  /** A stored checkpoint of an earlier attempt: the run continues from it when it was written for this run. */
  resumeFrom?: Uint8Array;
  /** The run continues from step `step` of `total` (the stored checkpoint fitted). */
  onResume?(step: number, total: number): void;
  /** The stored checkpoint was damaged or written for other settings: the run starts from its first step. */
  onIgnored?(reason: string): void;
};

/** The files a sink made of the frames (the MP4 and its poster). */
export type VideoFiles = { videoFile: string; posterFile: string };

/**
 * Where the decoded video goes, frame by frame, so that the engine never runs an encoder itself and
 * memory does not grow with the video's length.
 */
export type VideoSink = {
  /** Before the first frame: the video's size and frame rate, and the settings to record with it. */
  open(video: { width: number; height: number; fps: number; settings: Record<string, unknown> }): Promise<void>;
  /** One rgb24 frame (H rows of W pixels of R, G, B bytes), in order; resolves when the sink has room again. */
  write(rgb: Uint8Array): Promise<void>;
  /** After the last frame. */
  finish(): Promise<VideoFiles>;
  /** On failure or cancel: removes whatever was written; safe to call more than once. */
  abort(): Promise<void>;
};

export type GenerationResult = VideoFiles & {
  seed: number;
  timings: Record<string, number>;
  /** DiT passes made and how many step caching skipped (the `speed` setting). */
  ditCalls: DiTCallCount;
  width: number;
  height: number;
  frames: number;
  /** The settings embedded in the MP4 (prompt, negative prompt, seed, steps, …, model, engine version). */
  settings: Record<string, unknown>;
  /** The denoising steps a stored checkpoint had done when this run continued from it. */
  resumedFromStep?: number;
};

export type GenerationKind = "t2v" | "i2v" | "v2v";

/** The stored parameters (fit for i2v, strength for v2v) with the kind and its input file. */
export type GenerationRequest = StoredParams & {
  kind?: GenerationKind;
  /** The input file: an image for i2v, a video for v2v. */
  input?: string;
};

/** How an input image conditions a model: CLIP + mask channels (i2v DiT), or a held first frame (t2v DiT). */
export type ImageMode = "clip-conditioning" | "first-frame";

/** How often a preview is made: about ten over a run, never more than every step. */
function previewEvery(steps: number): number {
  return Math.max(1, Math.round(steps / 10));
}

/** Previews are upscaled from the latent grid (1/8 of the video) to roughly 256 px wide. */
function previewScale(latentWidth: number): number {
  return Math.min(16, Math.max(1, Math.round(256 / latentWidth)));
}

type Conditioning = {
  size: Size;
  frames: number;
  imageCondition?: { y: Float32Array; clip: Float32Array };
  firstFrame?: FirstFrameCondition;
  /** v2v: the clip's clean latent and the step sampling starts from. */
  start?: { latent: Float32Array; step: number };
  settings: Record<string, unknown>;
};

export class WanPipeline {
  constructor(readonly model: LoadedModel) {}

  get imageMode(): ImageMode {
    return this.model.dit.config.modelType === "i2v" ? "clip-conditioning" : "first-frame";
  }

  /** Checks the request against this model (sizes divisible by the VAE and the patch grid, inputs present). */
  validate(req: GenerationRequest, size: Size = req): void {
    const m = this.model;
    const multiple = m.vaeScale * m.dit.config.patchSize[1];
    if (size.width % multiple || size.height % multiple) {
      throw new RangeError(`width and height must be multiples of ${multiple} for this model (got ${size.width}×${size.height})`);
    }
    const kind = req.kind ?? "t2v";
    if (kind !== "t2v" && !req.input) throw new RangeError(`${kind} needs an input ${kind === "i2v" ? "image" : "video"}`);
    if (kind === "t2v" && this.imageMode === "clip-conditioning") {
      throw new RangeError(`model ${m.name} is an image-to-video model: give it an image`);
    }
    const issue = recipeIssue(req, m.manifest.recipe ?? null, m.name);
    if (issue) throw new RangeError(issue.message);
  }

  async generate(req: GenerationRequest, sink: VideoSink, cb: GenerationCallbacks = {}): Promise<GenerationResult> {
    const kind = req.kind ?? "t2v";
    this.validate(req);
    const m = this.model;
    const clock = new PhaseClock();
    const report = (phase: GenerationPhase, step: number, total: number) =>
      cb.onProgress?.({ phase, step, total, elapsedS: clock.elapsed(), etaS: clock.eta(phase, step, total) });

    // Text: the prompt and (when guidance is on) the negative prompt — the official default when none is given,
    // with the image-to-video prefix for the I2V models (docs/model-notes.md#prompt-handling).
    clock.start("text");
    report("text", 0, 1);
    const negativePrompt = negativePromptFor(req.negativePrompt, m.dit.config.modelType, kind);
    const cond = await m.prompts.encode(req.prompt);
    const uncond = req.guidance > 1 ? await m.prompts.encode(negativePrompt) : cond;
    throwIfCanceled(cb.signal);

    // The input image or video.
    let c: Conditioning = { size: { width: req.width, height: req.height }, frames: req.frames, settings: {} };
    if (kind !== "t2v") {
      clock.start("input");
      c = kind === "i2v" ? await this.imageConditioning(req, report, cb.signal) : await this.videoConditioning(req, report, cb.signal);
      this.validate(req, c.size);
    }

    // Noise from the seed (documented generator: lib/engine/noise.ts).
    const seed = req.seed ?? randomSeed();
    cb.onSeed?.(seed);
    const shape = latentShapeFor(c.frames, c.size.height, c.size.width, m.zDim, m.vaeScale);
    const noise = gaussianNoise(seed, shape.channels * shape.frames * shape.height * shape.width);

    clock.start("denoise");
    clock.expectLatentFrames(shape.frames);
    const newScheduler = () => createScheduler(req.solver, { steps: req.steps, shift: req.shift, grid: req.grid, startStep: c.start?.step, seed });
    let scheduler = newScheduler();
    const initial = c.start ? forwardNoise(c.start.latent, noise, scheduler.sigmas[c.start.step]) : scheduler.initialSample(noise);
    const total = scheduler.numSteps - scheduler.startStep;
    report("denoise", 0, total);
    const every = previewEvery(total);
    const hooks = cb.checkpoints;
    // Everything the trajectory depends on: a checkpoint written under any other value is refused.
    const fingerprint = checkpointFingerprint({
      engine: ENGINE_VERSION,
      model: m.name,
      kind,
      prompt: req.prompt,
      negativePrompt,
      seed,
      shape,
      steps: req.steps,
      startStep: scheduler.startStep,
      guidance: req.guidance,
      shift: req.shift,
      solver: req.solver,
      grid: req.grid,
      speed: req.speed,
      input: req.input,
      conditioning: c.settings,
    });
    const runDenoise = (resumeFrom?: DenoiseCheckpoint): Promise<DenoiseResult> =>
      denoise({
        dit: m.dit,
        scheduler,
        shape,
        initial,
        cond: { data: cond.data, rows: cond.rows },
        uncond: { data: uncond.data, rows: uncond.rows },
        guidance: req.guidance,
        imageCondition: c.imageCondition,
        firstFrame: c.firstFrame,
        stepCache: SPEED_PRESETS[req.speed],
        signal: cb.signal,
        checkpoints: hooks && {
          fingerprint,
          every: hooks.every,
          requested: hooks.requested,
          resumeFrom,
          onResume: (step, total) => {
            hooks.onResume?.(step, total);
            report("denoise", step, total);
          },
          onCheckpoint: (cp) => hooks.write(encodeCheckpoint(cp), cp.step, cp.total),
        },
        onStep: async ({ step, total, latent }) => {
          report("denoise", step, total);
          if (cb.onPreview && m.preview && (step % every === 0 || step === total)) {
            const webp = await encodePreviewWebp(latent, shape, m.preview, { scale: previewScale(shape.width) });
            cb.onPreview(webp.data, step);
          }
        },
      });
    const { latent, ditCalls, stepCache, resumedFromStep } = await this.resumeOrRun(hooks, runDenoise, () => (scheduler = newScheduler()));

    const settings = {
      kind,
      prompt: req.prompt,
      negativePrompt,
      seed,
      steps: req.steps,
      guidance: req.guidance,
      shift: req.shift,
      solver: req.solver,
      grid: req.grid,
      speed: req.speed,
      ...(stepCache === "unavailable" ? { stepCache: "unavailable: the model was converted before the DiT stage graphs" } : {}),
      model: m.name,
      width: c.size.width,
      height: c.size.height,
      frames: c.frames,
      fps: m.fps,
      ...c.settings,
      version: ENGINE_VERSION,
      executionProviders: m.executionProviders,
    };
    const files = await this.decodeInto(sink, latent, shape, settings, clock, report, cb.signal);
    return {
      seed,
      ...files,
      timings: clock.timings(),
      ditCalls,
      width: c.size.width,
      height: c.size.height,
      frames: c.frames,
      settings,
      ...(resumedFromStep !== undefined ? { resumedFromStep } : {}),
    };
  }

  /**
   * Denoises from the stored checkpoint when there is one that fits this run, else from the first step. A
   * damaged checkpoint, or one written for other settings, is reported and ignored (checked before any step
   * runs; the scheduler it was tried on is replaced by a fresh one), never an error.
   */
  private async resumeOrRun(
    hooks: CheckpointHooks | undefined,
    run: (resumeFrom?: DenoiseCheckpoint) => Promise<DenoiseResult>,
    freshScheduler: () => void,
  ): Promise<DenoiseResult> {
    if (!hooks?.resumeFrom) return run();
    let checkpoint: DenoiseCheckpoint;
    try {
      checkpoint = decodeCheckpoint(hooks.resumeFrom);
    } catch (e) {
      if (!(e instanceof CheckpointFormatError)) throw e;
      hooks.onIgnored?.(e.message);
      return run();
    }
    try {
      return await run(checkpoint);
    } catch (e) {
      if (!(e instanceof CheckpointMismatchError)) throw e;
      hooks.onIgnored?.(e.message);
      freshScheduler();
      return run();
    }
  }

  /**
   * i2v: the image placed in the output frame (its size from the image's aspect and the preset's pixel
   * budget). A 36-channel model gets the mask + latent channels and CLIP features (official wan/image2video.py, WanI2V.generate); a text-to-video
   * model holds the image's latent in latent frame 0.
   */
  private async imageConditioning(
    req: GenerationRequest,
    report: (phase: GenerationPhase, step: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<Conditioning> {
    const m = this.model;
    const fit = req.fit ?? DEFAULT_FIT;
    const prepared = await prepareImage(req.input!, { width: req.width, height: req.height }, fit);
    const { width: W, height: H } = prepared.output;
    this.validate(req, prepared.output);
    const frame = rgbToTensor(prepared.frame);
    const encoder = await m.vaeEncoder();
    const settings = { fit, inputWidth: prepared.original.width, inputHeight: prepared.original.height, imageMode: this.imageMode };
    if (this.imageMode === "clip-conditioning") {
      const total = latentShapeFor(req.frames, H, W, m.zDim, m.vaeScale).frames + 1;
      report("input", 0, total);
      const clipSession = await m.imageEncoder();
      const clip = await encodeImage(clipSession, rgbToTensor(prepared.original), prepared.original.height, prepared.original.width);
      report("input", 1, total);
      const y = await imageConditionY(encoder, frame, req.frames, H, W, m.vaeScale, { signal, onChunk: (done) => report("input", 1 + done, total) });
      return { size: prepared.output, frames: req.frames, imageCondition: { y, clip: clip.features }, settings };
    }
    report("input", 0, 1);
    const latent = await imageLatent(encoder, frame, H, W);
    report("input", 1, 1);
    return { size: prepared.output, frames: req.frames, firstFrame: { latent }, settings };
  }

  /**
   * v2v: the clip scaled and centre-cropped to the output size (from its aspect and the preset's pixel
   * budget), up to the requested frame count (4k+1), VAE-encoded, then noised to the step its strength
   * starts from. An image-to-video model also gets its first frame as the image conditioning.
   */
  private async videoConditioning(
    req: GenerationRequest,
    report: (phase: GenerationPhase, step: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<Conditioning> {
    const m = this.model;
    const probe = await probeVideo(req.input!);
    const size = outputSizeForPreset({ width: probe.width, height: probe.height }, { width: req.width, height: req.height });
    this.validate(req, size);
    const available = probe.frames;
    const frames = Math.min(req.frames, validFramesWithin(available));
    if (frames < 1) throw new RangeError("the input video has no frames");
    const rgbFrames: Uint8Array[] = [];
    for await (const f of decodeVideoFrames(req.input!, { width: size.width, height: size.height, maxFrames: frames, fit: "cover" })) {
      rgbFrames.push(f);
      throwIfCanceled(signal);
    }
    const T = validFramesWithin(rgbFrames.length);
    const { width: W, height: H } = size;
    const toTensor = (rgb: Uint8Array) => rgbToTensor({ width: W, height: H, rgb });
    const encoder = await m.vaeEncoder();
    const latentFrames = latentShapeFor(T, H, W, m.zDim, m.vaeScale).frames;
    report("input", 0, latentFrames);
    const latent = await encodeFrames(
      encoder,
      T,
      H,
      W,
      (start, count) => {
        const chunk = new Float32Array(3 * count * H * W);
        for (let t = 0; t < count; t++) {
          const f = toTensor(rgbFrames[start + t]);
          for (let ch = 0; ch < 3; ch++) chunk.set(f.subarray(ch * H * W, (ch + 1) * H * W), (ch * count + t) * H * W);
        }
        return chunk;
      },
      { signal, onChunk: (done, total) => report("input", done, total) },
    );
    const strength = req.strength ?? DEFAULT_V2V_STRENGTH;
    const startStep = startStepForStrength(strength, req.steps);
    const settings = { strength, startStep, inputWidth: probe.width, inputHeight: probe.height, inputFrames: available };
    let imageCondition: Conditioning["imageCondition"];
    if (this.imageMode === "clip-conditioning") {
      const first = toTensor(rgbFrames[0]);
      const clip = await encodeImage(await m.imageEncoder(), first, H, W);
      imageCondition = { y: await imageConditionY(encoder, first, T, H, W, m.vaeScale, { signal }), clip: clip.features };
    }
    return { size, frames: T, start: { latent, step: startStep }, imageCondition, settings };
  }

  /**
   * Streams the latent through the VAE decoder into the sink: each latent frame becomes 1 (first) or 4
   * video frames that are handed over immediately. A failure or a cancel between chunks aborts the sink.
   */
  async decodeInto(
    sink: VideoSink,
    latent: Float32Array,
    shape: LatentShape,
    settings: Record<string, unknown>,
    clock: PhaseClock,
    report: (phase: GenerationPhase, step: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<VideoFiles> {
    const m = this.model;
    const width = shape.width * m.vaeScale;
    const height = shape.height * m.vaeScale;
    clock.start("decode");
    report("decode", 0, shape.frames);
    let files: VideoFiles;
    try {
      await sink.open({ width, height, fps: m.fps, settings });
      let index = 0;
      for await (const chunk of decodeLatents(m.vae, latent, shape.frames, shape.height, shape.width, { signal })) {
        for (const rgb of videoChunkToRgbFrames(chunk.frames, { frames: chunk.t, height, width })) await sink.write(rgb);
        index++;
        report("decode", index, shape.frames);
      }
      throwIfCanceled(signal);
      files = await sink.finish();
    } catch (e) {
      await sink.abort();
      throw isCancellation(e) ? new CanceledError() : e;
    }
    clock.stop();
    return files;
  }
}
