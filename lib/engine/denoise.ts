/**
 * The sampling loop: at each step the DiT predicts the velocity for the conditional and (when guidance > 1)
 * the unconditional text in one batched call, classifier-free guidance combines them (official wan/text2video.py, WanT2V.generate (classifier-free guidance)), and the
 * scheduler advances the latent. Cancellation takes effect between steps. With step caching (step-cache.ts)
 * some passes reuse the residual of an earlier step instead of running the DiT's blocks.
 *
 * Checkpoints (checkpoint.ts): every few steps, and whenever asked, the loop hands out the state after the step
 * it just finished; a run given one of them (`resumeFrom`) restores the scheduler and the step cache and goes on
 * from there, ending with the same latent, bit for bit, as a run never interrupted.
 */
import { CanceledError, throwIfCanceled } from "./cancel.ts";
import { CheckpointMismatchError, type DenoiseCheckpoint } from "./checkpoint.ts";
import type { DiTRunner, LatentShape } from "./dit.ts";
import { createStepCache, type StepCacheSettings } from "./speed.ts";
import type { CacheDecision, DiTCallCount, StepCache } from "./step-cache.ts";
import { StateMismatchError } from "./state-record.ts";
import type { FlowScheduler } from "./schedulers/flow-scheduler.ts";

export type TextContext = { data: Float32Array; rows: number };

export type StepInfo = {
  /** 1-based index of the step just finished, out of `total` steps run. */
  step: number;
  total: number;
  timestep: number;
  /** The latent after this step. */
  latent: Float32Array;
};

export type FirstFrameCondition = {
  /** The clean, normalised latent of latent frame 0 ([C, 1, H, W] values). */
  latent: Float32Array;
};

export type DenoiseOptions = {
  dit: DiTRunner;
  scheduler: FlowScheduler;
  shape: LatentShape;
  /** The starting sample: pure noise at step 0, or a noised latent when the scheduler starts later. */
  initial: Float32Array;
  cond: TextContext;
  /** The negative-prompt context; ignored when guidance ≤ 1 (the unconditional pass is skipped). */
  uncond: TextContext;
  guidance: number;
  /** Image-to-video models: mask + image latent channels and CLIP features, shared by both CFG branches (official wan/image2video.py, WanI2V.generate). */
  imageCondition?: { y: Float32Array; clip: Float32Array };
  /**
   * Text-to-video models animating an image: latent frame 0 is held at the image's latent, re-noised to
   * each step's σ with the run's own noise, and set exactly at the end.
   */
  firstFrame?: FirstFrameCondition;
  signal?: AbortSignal;
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** Keep every intermediate latent (index 0 = the initial sample), for parity checks. */
  keepTrajectory?: boolean;
  /**
   * Step caching (TeaCache or MagCache); null or absent runs every pass. A model converted before the DiT stage graphs
   * cannot cache: it runs every pass and the result says so (`stepCache: "unavailable"`).
   */
  stepCache?: StepCacheSettings | null;
  /** Checkpoints: taking them, and continuing from one. */
  checkpoints?: DenoiseCheckpointOptions;
};

export type DenoiseCheckpointOptions = {
  /** `checkpointFingerprint` of everything the trajectory depends on (model, parameters, seed, shape, …). */
  fingerprint: string;
  /** Continue from this checkpoint; refused (CheckpointMismatchError) unless it was written for this run. */
  resumeFrom?: DenoiseCheckpoint;
  /** Hand out a checkpoint after every `every`-th step of the run (counted from its first step); 0: never by count. */
  every: number;
  /** Asked after each step: true hands out a checkpoint of that step as well (a drain asking for one now). */
  requested?: () => boolean;
  /** Called once `resumeFrom` has been checked and restored, before the first step runs. */
  onResume?: (step: number, total: number) => void;
  /** Receives the checkpoint; the loop waits for it (write it before the next step changes nothing it holds). */
  onCheckpoint: (checkpoint: DenoiseCheckpoint) => void | Promise<void>;
};

export type DenoiseResult = {
  latent: Float32Array;
  trajectory?: Float32Array[];
  /** DiT passes made (conditional and unconditional count apart) and how many reused a cached residual. */
  ditCalls: DiTCallCount;
  /** "off": not asked for; "on"; "unavailable": asked for, but the model has no stage graphs. */
  stepCache: "off" | "on" | "unavailable";
  /** With a cache: every pass's decision in call order (per step: conditional, then unconditional). */
  decisions?: CacheDecision[];
  /** The steps a checkpoint given as `resumeFrom` had done (absent when the run started from its first step). */
  resumedFromStep?: number;
};

export { CanceledError, throwIfCanceled };

/** v = v_u + g·(v_c − v_u), rounded per operation to float32 as the official PyTorch code computes it. */
export function guide(cond: Float32Array, uncond: Float32Array, g: number): Float32Array {
  const out = new Float32Array(cond.length);
  const gf = Math.fround(g);
  for (let i = 0; i < out.length; i++) {
    const u = uncond[i];
    out[i] = Math.fround(u + Math.fround(gf * Math.fround(cond[i] - u)));
  }
  return out;
}

export async function denoise(o: DenoiseOptions): Promise<DenoiseResult> {
  const { scheduler } = o;
  const useCfg = o.guidance > 1;
  // Frame 0 is re-noised with the run's own starting noise for that frame (a resumed run too).
  const frame0Noise = o.firstFrame ? firstFrameOf(o.initial, o.shape) : undefined;
  let x = o.initial;
  const total = scheduler.numSteps - scheduler.startStep;
  const cache = o.stepCache && o.dit.canCacheSteps ? createStepCache(o.stepCache, total) : undefined;
  const stepCache = !o.stepCache ? "off" : cache ? "on" : "unavailable";
  const passes = useCfg ? 2 : 1;
  const resume = o.checkpoints?.resumeFrom;
  if (resume) {
    x = restoreCheckpoint(resume, o, total, cache);
    o.checkpoints?.onResume?.(resume.step, total);
  }
  const trajectory = o.keepTrajectory ? [x] : undefined;
  const first = scheduler.startStep + (resume?.step ?? 0);
  for (let i = first; i < scheduler.numSteps; i++) {
    throwIfCanceled(o.signal);
    if (o.firstFrame) x = holdFirstFrame(x, o.firstFrame.latent, frame0Noise!, scheduler.sigmas[i], o.shape);
    const t = scheduler.timesteps[i];
    const latents = useCfg ? [x, x] : [x];
    const contexts = useCfg ? [o.cond, o.uncond] : [o.cond];
    const [vCond, vUncond] = await o.dit.predict({
      latents,
      shape: o.shape,
      timestep: t,
      contexts,
      imageCondition: o.imageCondition,
      cache: cache && { cache, step: i - scheduler.startStep },
    });
    const v = useCfg ? guide(vCond, vUncond, o.guidance) : vCond;
    x = scheduler.step(v, i, x);
    if (o.firstFrame && i === scheduler.numSteps - 1) x = holdFirstFrame(x, o.firstFrame.latent, frame0Noise!, 0, o.shape);
    trajectory?.push(x);
    const step = i - scheduler.startStep + 1;
    const cp = o.checkpoints;
    // requested() is asked first so that a request is always answered by this step's checkpoint.
    if (cp && (cp.requested?.() || (cp.every > 0 && step % cp.every === 0))) {
      await cp.onCheckpoint({
        fingerprint: cp.fingerprint,
        step,
        total,
        latent: x,
        scheduler: scheduler.saveState(),
        stepCache: cache?.saveState() ?? null,
      });
    }
    await o.onStep?.({ step, total, timestep: t, latent: x });
  }
  const ditCalls = cache?.count ?? { calls: total * passes, skipped: 0 };
  return { latent: x, trajectory, ditCalls, stepCache, decisions: cache?.decisions, ...(resume ? { resumedFromStep: resume.step } : {}) };
}

/**
 * Checks that a checkpoint belongs to this run and puts its state into the fresh scheduler and step cache;
 * returns its latent. Anything that does not fit throws CheckpointMismatchError before a step is run.
 */
function restoreCheckpoint(cp: DenoiseCheckpoint, o: DenoiseOptions, total: number, cache: StepCache | undefined): Float32Array {
  const fingerprint = o.checkpoints!.fingerprint;
  if (cp.fingerprint !== fingerprint) throw new CheckpointMismatchError("the checkpoint was written for other settings (fingerprint differs)");
  if (cp.total !== total || !Number.isInteger(cp.step) || cp.step < 1 || cp.step > total) {
    throw new CheckpointMismatchError(`the checkpoint is at step ${cp.step}/${cp.total}, this run has ${total} steps`);
  }
  if (cp.latent.length !== o.initial.length) {
    throw new CheckpointMismatchError(`the checkpoint's latent has ${cp.latent.length} values, this run's ${o.initial.length}`);
  }
  if (Boolean(cp.stepCache) !== Boolean(cache)) {
    throw new CheckpointMismatchError(`the checkpoint was written ${cp.stepCache ? "with" : "without"} step caching, this run is ${cache ? "with" : "without"}`);
  }
  try {
    o.scheduler.restoreState(cp.scheduler);
    if (cache && cp.stepCache) cache.restoreState(cp.stepCache);
  } catch (e) {
    if (e instanceof StateMismatchError) throw new CheckpointMismatchError(`the checkpoint does not fit this run: ${e.message}`);
    throw e;
  }
  if (o.scheduler.saveState().values.next !== o.scheduler.startStep + cp.step) {
    throw new CheckpointMismatchError(`the checkpoint's scheduler is not at step ${cp.step}`);
  }
  return cp.latent;
}

/** Latent frame 0 of every channel ([C, F, H, W] → [C, 1, H, W]). */
export function firstFrameOf(x: Float32Array, shape: LatentShape): Float32Array {
  const plane = shape.height * shape.width;
  const out = new Float32Array(shape.channels * plane);
  for (let c = 0; c < shape.channels; c++) {
    out.set(x.subarray(c * shape.frames * plane, c * shape.frames * plane + plane), c * plane);
  }
  return out;
}

/** Sets latent frame 0 to (1 − σ)·z₀ + σ·ε₀ (z₀, ε₀ as [C, 1, H, W]); the other frames are kept. */
function holdFirstFrame(x: Float32Array, z0: Float32Array, eps0: Float32Array, sigma: number, shape: LatentShape): Float32Array {
  const out = x.slice();
  const plane = shape.height * shape.width;
  for (let c = 0; c < shape.channels; c++) {
    const base = c * shape.frames * plane;
    for (let j = 0; j < plane; j++) {
      const k = c * plane + j;
      out[base + j] = sigma === 0 ? z0[k] : Math.fround((1 - sigma) * z0[k] + sigma * eps0[k]);
    }
  }
  return out;
}
