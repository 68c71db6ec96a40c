/**
 * Time per phase and an estimate of the time left. The denoising ETA extrapolates the average step; the
 * decode is estimated from how long decoding took relative to a denoising step on earlier runs in this
 * process (per latent frame), so the ETA covers the whole generation, not just the steps.
 */
import type { GenerationPhase as Phase } from "../schemas/job-vocabulary.ts";

/** Seconds to decode one latent frame per second of one denoising step, learned across runs. */
let decodeRatio: number | undefined;

export class PhaseClock {
  private readonly began = performance.now();
  private current: { phase: Phase; since: number } | undefined;
  private readonly spent: Partial<Record<Phase, number>> = {};
  private stepSeconds: number | undefined;
  private latentFrames = 0;

  start(phase: Phase): void {
    this.stop();
    this.current = { phase, since: performance.now() };
  }

  stop(): void {
    if (!this.current) return;
    const s = (performance.now() - this.current.since) / 1000;
    this.spent[this.current.phase] = (this.spent[this.current.phase] ?? 0) + s;
    if (this.current.phase === "decode" && this.stepSeconds && this.latentFrames) {
      decodeRatio = s / this.latentFrames / this.stepSeconds;
    }
    this.current = undefined;
  }

  elapsed(): number {
    return (performance.now() - this.began) / 1000;
  }

  /** Estimated seconds left, or null before there is anything to extrapolate from. */
  eta(phase: Phase, step: number, total: number): number | null {
    const inPhase = this.current ? (performance.now() - this.current.since) / 1000 : 0;
    if (phase === "denoise") {
      if (step === 0) return null;
      this.stepSeconds = inPhase / step;
      const decode = decodeRatio !== undefined && this.latentFrames ? decodeRatio * this.stepSeconds * this.latentFrames : 0;
      return this.stepSeconds * (total - step) + decode;
    }
    if (phase === "decode") {
      this.latentFrames = total;
      if (step === 0) return decodeRatio !== undefined && this.stepSeconds ? decodeRatio * this.stepSeconds * total : null;
      return (inPhase / step) * (total - step);
    }
    return null;
  }

  /** Tells the clock how many latent frames will be decoded (for the ETA during denoising). */
  expectLatentFrames(frames: number): void {
    this.latentFrames = frames;
  }

  timings(): Record<string, number> {
    this.stop();
    return Object.fromEntries(Object.entries(this.spent).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
  }
}
