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
 */
import { stateArray, type StateRecord } from "./state-record.ts";
import { StepCache, type CacheDecision } from "./step-cache.ts";

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

export class TeaCache extends StepCache {
  readonly measures: TeaCacheMode;
  private readonly calibration: Calibration;
  /** Per pass: the previous modulated input and the accumulated estimate. */
  private readonly passes = new Map<number, { previous?: Float32Array; distance: number }>();

  constructor(
    readonly settings: TeaCacheSettings,
    totalSteps: number,
  ) {
    super(totalSteps);
    if (!(settings.threshold >= 0)) throw new RangeError(`the TeaCache threshold must be ≥ 0 (got ${settings.threshold})`);
    this.measures = settings.mode;
    this.calibration = WAN_1_3B_TEACACHE[settings.mode];
  }

  /** Per pass: the accumulated estimate and the previous modulated input. */
  protected saveRule(): StateRecord {
    const state: StateRecord = { values: {}, arrays: {} };
    for (const [pass, { previous, distance }] of this.passes) {
      state.values[`distance.${pass}`] = distance;
      if (previous) state.arrays[`previous.${pass}`] = previous;
    }
    return state;
  }

  protected restoreRule(state: StateRecord): void {
    for (const [name, distance] of Object.entries(state.values)) {
      const pass = /^distance\.(\d+)$/.exec(name)?.[1];
      if (pass === undefined || typeof distance !== "number") continue;
      this.passes.set(Number(pass), { distance, previous: stateArray(state, `previous.${pass}`) });
    }
  }

  protected rule(pass: number, step: number, modulated: Float32Array | undefined, hasResidual: boolean): CacheDecision {
    if (!modulated) throw new Error(`TeaCache needs the modulated input ${this.measures}`);
    const state = this.passes.get(pass) ?? { distance: 0 };
    this.passes.set(pass, state);
    const { firstSteps, lastSteps, coefficients } = this.calibration;
    let compute: boolean;
    if (step < firstSteps || step >= this.totalSteps - lastSteps || !state.previous || !hasResidual) {
      compute = true;
    } else {
      state.distance += polynomial(coefficients, relativeL1(modulated, state.previous));
      compute = !(state.distance < this.settings.threshold);
    }
    if (compute) state.distance = 0;
    // The previous input moves on at every call, computed or not.
    state.previous = modulated.slice();
    return { compute, distance: state.distance };
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
