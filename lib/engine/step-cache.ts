/**
 * TeaCache (Liu et al., "Timestep Embedding Tells: It's Time to Cache for Video Diffusion Model", CVPR 2025),
 * training-free step caching for the Wan DiT, with the rule of its Wan 2.1 script (TeaCache4Wan2.1,
 * teacache_forward at commit 7c10efc).
 *
 * The output of the blocks changes little between neighbouring steps, and how much it changes follows how much
 * the timestep-modulated input changes. On each pass TeaCache measures that input's relative L1 change since the
 * previous call of the same pass, maps it through a polynomial fitted offline (the model's calibration) to an
 * estimate of the output's change, and adds it up. While the sum stays below the threshold the pass skips the
 * blocks and adds the residual (tokens after the blocks − tokens before) its last computed call left; otherwise it
 * runs the blocks, keeps their residual and starts the sum again. The conditional and unconditional passes of
 * classifier-free guidance keep separate sums and residuals. The first steps (and, in mode "e", the last one)
 * always run the blocks.
 *
 * The embedding and the head run on every call, so a skipped call costs only those (models/wan/dit.ts stages).
 */
import type { Speed } from "../schemas/generation.ts";

/**
 * Which modulated input is measured: "e" the time embedding [D] (the default of the script), "e0" the projected
 * modulation [6, D] (its `use_ret_steps` variant, with more retained steps at the start and none at the end).
 */
export const TEACACHE_MODES = ["e", "e0"] as const;
export type TeaCacheMode = (typeof TEACACHE_MODES)[number];

export type TeaCacheSettings = { mode: TeaCacheMode; threshold: number };

type Calibration = {
  /** Polynomial coefficients, highest power first (numpy.poly1d order). */
  coefficients: readonly number[];
  /** Steps at the start whose passes always run the blocks. */
  firstSteps: number;
  /** Steps at the end whose passes always run the blocks. */
  lastSteps: number;
};

/**
 * The published calibration of Wan2.1-T2V-1.3B (TeaCache4Wan2.1 teacache_generate.py: `coefficients`, with
 * `ret_steps` = 1 or 5 steps and `cutoff_steps` = all steps but the last, or all steps, per mode).
 */
export const WAN_1_3B_TEACACHE: Record<TeaCacheMode, Calibration> = {
  e: { coefficients: [2.39676752e3, -1.31110545e3, 2.01331979e2, -8.29855975, 1.37887774e-1], firstSteps: 1, lastSteps: 1 },
  e0: { coefficients: [-5.21862437e4, 9.23041404e3, -5.28275948e2, 1.36987616e1, -4.99875664e-2], firstSteps: 5, lastSteps: 0 },
};

/**
 * The studio's speed presets: TeaCache4Wan2.1's published thresholds for the 1.3B model (README, "use_ret_steps"
 * table: 0.05 "slow" and 0.08 "fast" without retention steps, the variant it recommends for t2v-1.3B).
 * "exact" runs every step.
 */
export const SPEED_PRESETS: Record<Speed, TeaCacheSettings | null> = {
  exact: null,
  fast: { mode: "e", threshold: 0.05 },
  faster: { mode: "e", threshold: 0.08 },
};

/** How many DiT passes a generation made and how many of them reused a cached residual instead of the blocks. */
export type DiTCallCount = { calls: number; skipped: number };

/** One pass's state: the previous modulated input, the accumulated estimate and the last computed residual. */
type PassState = { previous?: Float32Array; distance: number; residual?: Float32Array };

/** The decision for one pass of one step, and the accumulated distance after it (0 when the blocks ran). */
export type CacheDecision = { compute: boolean; distance: number };

export class TeaCache {
  private readonly calibration: Calibration;
  private readonly passes = new Map<number, PassState>();
  private readonly counts: DiTCallCount = { calls: 0, skipped: 0 };
  /** Every decision in call order (per step: pass 0, then pass 1), for parity checks. */
  readonly decisions: CacheDecision[] = [];

  /** `totalSteps`: the steps this run makes (from its first step to the last). */
  constructor(
    readonly settings: TeaCacheSettings,
    private readonly totalSteps: number,
  ) {
    if (!(settings.threshold >= 0)) throw new RangeError(`the TeaCache threshold must be ≥ 0 (got ${settings.threshold})`);
    this.calibration = WAN_1_3B_TEACACHE[settings.mode];
  }

  get count(): DiTCallCount {
    return { ...this.counts };
  }

  /**
   * Decides whether pass `pass` of step `step` (0-based within this run) runs the blocks, given its modulated
   * input (e or e0, per the mode).
   */
  decide(pass: number, step: number, modulated: Float32Array): CacheDecision {
    const state = this.passes.get(pass) ?? { distance: 0 };
    this.passes.set(pass, state);
    const { firstSteps, lastSteps, coefficients } = this.calibration;
    let compute: boolean;
    if (step < firstSteps || step >= this.totalSteps - lastSteps || !state.previous || !state.residual) {
      compute = true;
    } else {
      state.distance += polynomial(coefficients, relativeL1(modulated, state.previous));
      compute = !(state.distance < this.settings.threshold);
    }
    if (compute) state.distance = 0;
    state.previous = modulated.slice();
    this.counts.calls++;
    if (!compute) this.counts.skipped++;
    const decision = { compute, distance: state.distance };
    this.decisions.push(decision);
    return decision;
  }

  /** Keeps the residual of a computed pass: tokens after the blocks − tokens before, in float32. */
  keepResidual(pass: number, before: Float32Array, after: Float32Array): void {
    const residual = new Float32Array(after.length);
    for (let i = 0; i < residual.length; i++) residual[i] = after[i] - before[i];
    this.passes.get(pass)!.residual = residual;
  }

  /** A skipped pass: the embedded tokens plus the residual of the pass's last computed call. */
  applyResidual(pass: number, tokens: Float32Array): Float32Array {
    const residual = this.passes.get(pass)?.residual;
    if (!residual || residual.length !== tokens.length) throw new Error(`pass ${pass} has no cached residual of this size`);
    const out = new Float32Array(tokens.length);
    for (let i = 0; i < out.length; i++) out[i] = tokens[i] + residual[i];
    return out;
  }
}

/** mean|a − b| / mean|b|, the differences rounded to float32 as the reference computes them. */
function relativeL1(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let base = 0;
  for (let i = 0; i < a.length; i++) {
    diff += Math.abs(Math.fround(a[i] - b[i]));
    base += Math.abs(b[i]);
  }
  return diff / base;
}

/** Horner's rule, coefficients highest power first. */
function polynomial(coefficients: readonly number[], x: number): number {
  return coefficients.reduce((acc, c) => acc * x + c, 0);
}
