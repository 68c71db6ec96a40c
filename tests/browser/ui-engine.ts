/**
 * A stand-in generation function for the browser tests of the studio's pages — not the engine, and no
 * browser test claims to test the engine (tests/browser/generate-e2e.test.ts does, once it is wired). It
 * behaves towards the worker as the engine does, so every job state can be seen in the browser: it reports
 * the seed and each phase's progress with an ETA, publishes a WebP preview every step, honours the
 * AbortSignal (the engine's CanceledError), and writes a real MP4 (lib/video/encoder.ts) and poster. For
 * image to video it sizes the output with lib/images/fit.ts from the uploaded image and the request's
 * pixel budget, as the engine is to do. A prompt containing "[fail]" fails at the second step.
 */
import path from "node:path";
import sharp from "sharp";
import { CanceledError } from "../../lib/engine/denoise.ts";
import type { RunGeneration } from "../../lib/engine/generation.ts";
import { outputSizeForPreset } from "../../lib/images/fit.ts";
import { createMp4Encoder } from "../../lib/video/encoder.ts";
import { writePoster } from "../../lib/video/poster.ts";

/** A calm dusk gradient with a sun that rises over the clip: pleasant in screenshots, smooth for x264. */
function frame(width: number, height: number, index: number, count: number, seed: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  const t = count > 1 ? index / (count - 1) : 0;
  const sunX = width * (0.3 + 0.4 * t);
  const sunY = height * (0.75 - 0.35 * t);
  const sunR = Math.max(4, Math.min(width, height) * 0.12);
  const hue = (seed % 60) / 60;
  for (let y = 0; y < height; y++) {
    const v = y / Math.max(1, height - 1);
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      const d = Math.hypot(x - sunX, y - sunY) / sunR;
      const glow = Math.max(0, 1.6 - d) / 1.6;
      rgb[p] = Math.min(255, Math.round(40 + 150 * v + 60 * hue + 160 * glow));
      rgb[p + 1] = Math.min(255, Math.round(30 + 70 * v + 150 * glow));
      rgb[p + 2] = Math.min(255, Math.round(110 - 60 * v + 40 * (1 - hue) + 60 * glow));
    }
  }
  return rgb;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new CanceledError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CanceledError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export function uiEngine(opts: { stepMs: number }): RunGeneration {
  return async (job, ctx) => {
    const p = job.params as { prompt: string; width: number; height: number; frames: number; steps: number; seed?: number };
    const seed = p.seed ?? Math.floor(Math.random() * 2 ** 31);
    ctx.onSeed(seed);
    let { width, height } = p;
    if (job.input?.kind === "image") {
      const meta = await sharp(job.input.file).metadata();
      ({ width, height } = outputSizeForPreset({ width: meta.width!, height: meta.height! }, p));
    }
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    ctx.onProgress({ phase: "load", step: 1, total: 1, elapsedS: elapsed(), etaS: null });
    await sleep(opts.stepMs, ctx.signal);
    ctx.onProgress({ phase: "text", step: 1, total: 1, elapsedS: elapsed(), etaS: null });
    await sleep(opts.stepMs, ctx.signal);
    const denoiseStart = elapsed();
    for (let step = 1; step <= p.steps; step++) {
      await sleep(opts.stepMs, ctx.signal);
      if (step === 2 && p.prompt.includes("[fail]")) throw new Error("the generation failed at step 2 (asked for by the test prompt)");
      const perStep = (elapsed() - denoiseStart) / step;
      ctx.onProgress({ phase: "denoise", step, total: p.steps, elapsedS: elapsed(), etaS: perStep * (p.steps - step) });
      const pw = Math.max(16, Math.round(width / 4));
      const ph = Math.max(16, Math.round(height / 4));
      const preview = await sharp(frame(pw, ph, step, p.steps, seed), { raw: { width: pw, height: ph, channels: 3 } })
        .blur(Math.max(0.3, 3 * (1 - step / p.steps)))
        .webp()
        .toBuffer();
      ctx.onPreview(preview, step);
    }
    const denoiseS = elapsed() - denoiseStart;
    const decodeStart = elapsed();
    const encoder = createMp4Encoder({ file: path.join(ctx.outputDir, "video.mp4"), width, height, preset: "ultrafast" });
    try {
      for (let i = 0; i < p.frames; i++) {
        if (ctx.signal.aborted) throw new CanceledError();
        ctx.onProgress({ phase: "decode", step: i + 1, total: p.frames, elapsedS: elapsed(), etaS: null });
        await encoder.writeFrame(frame(width, height, i, p.frames, seed));
      }
      await encoder.finish();
    } catch (error) {
      await encoder.abort();
      throw error;
    }
    await writePoster(frame(width, height, 0, p.frames, seed), width, height, path.join(ctx.outputDir, "poster.jpg"), { format: "jpeg" });
    return {
      seed,
      videoFile: "video.mp4",
      posterFile: "poster.jpg",
      timings: { denoise: Math.round(denoiseS * 1000) / 1000, decode: Math.round((elapsed() - decodeStart) * 1000) / 1000 },
      width,
      height,
      frames: p.frames,
      settings: { ...p, seed, width, height },
    };
  };
}
