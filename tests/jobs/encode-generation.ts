/**
 * A generation function for the queue-behaviour tests — not the engine, and no test here claims to test
 * the engine. It behaves towards the worker the way the engine does: it reports the seed, progress per
 * step and a WebP preview per step, writes a real MP4 frame by frame through lib/video/encoder.ts (so a
 * run killed midway leaves the encoder's temporary file, as the engine's would) plus a poster, honours
 * the AbortSignal between steps (rejecting with the engine's CanceledError), and can be told to fail.
 */
import path from "node:path";
import sharp from "sharp";
import { CanceledError } from "../../lib/engine/denoise.ts";
import type { RunGeneration } from "../../lib/engine/pipeline.ts";
import { createMp4Encoder } from "../../lib/video/encoder.ts";
import { writePoster } from "../../lib/video/poster.ts";

export type EncodeGenerationOptions = {
  /** Time per denoising step. */
  stepMs?: number;
  /** Throw an ordinary error at this step (an engine failure). */
  failAtStep?: number;
  /** Called with the job id at the start of every run (to count runs). */
  onRun?: (jobId: string) => void;
};

function frame(width: number, height: number, index: number, seed: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    rgb[p * 3] = (seed + index * 23) % 256;
    rgb[p * 3 + 1] = (p % width) % 256;
    rgb[p * 3 + 2] = (index * 40) % 256;
  }
  return rgb;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new CanceledError());
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CanceledError());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export function encodeGeneration(opts: EncodeGenerationOptions = {}): RunGeneration {
  const stepMs = opts.stepMs ?? 20;
  return async (job, ctx) => {
    opts.onRun?.(job.id);
    const p = job.params as { width: number; height: number; frames: number; steps: number; seed?: number };
    const seed = p.seed ?? Math.floor(Math.random() * 2 ** 31);
    ctx.onSeed(seed);
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    ctx.onProgress({ phase: "load", step: 1, total: 1, elapsedS: elapsed(), etaS: null });
    const encoder = createMp4Encoder({ file: path.join(ctx.outputDir, "video.mp4"), width: p.width, height: p.height, preset: "ultrafast" });
    let written = 0;
    try {
      for (let step = 1; step <= p.steps; step++) {
        await sleep(stepMs, ctx.signal);
        if (step === opts.failAtStep) throw new Error(`the generation failed at step ${step}`);
        if (written < p.frames) await encoder.writeFrame(frame(p.width, p.height, written++, seed));
        ctx.onProgress({ phase: "denoise", step, total: p.steps, elapsedS: elapsed(), etaS: ((p.steps - step) * stepMs) / 1000 });
        const preview = await sharp(frame(16, 16, step, seed), { raw: { width: 16, height: 16, channels: 3 } }).webp().toBuffer();
        ctx.onPreview(preview, step);
      }
      const denoiseS = elapsed();
      ctx.onProgress({ phase: "decode", step: 0, total: p.frames, elapsedS: elapsed(), etaS: null });
      while (written < p.frames) await encoder.writeFrame(frame(p.width, p.height, written++, seed));
      if (ctx.signal.aborted) throw new CanceledError();
      await encoder.finish();
      await writePoster(frame(p.width, p.height, 0, seed), p.width, p.height, path.join(ctx.outputDir, "poster.jpg"), { format: "jpeg" });
      return {
        seed,
        videoFile: "video.mp4",
        posterFile: "poster.jpg",
        timings: { denoise: Math.round(denoiseS * 1000) / 1000, decode: Math.round((elapsed() - denoiseS) * 1000) / 1000 },
        width: p.width,
        height: p.height,
        frames: p.frames,
        settings: { ...p, seed },
      };
    } catch (error) {
      await encoder.abort();
      throw error;
    }
  };
}
