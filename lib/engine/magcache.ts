/**
 * MagCache (Ma et al., "MagCache: Fast Video Generation with Magnitude-Aware Cache", 2025), with the rule of its
 * Wan 2.1 script (MagCache4Wan2.1 magcache_generate.py, magcache_forward).
 *
 * The ratio of the magnitudes of the blocks' residuals at neighbouring steps is nearly the same for every prompt,
 * so it is measured once per model (the calibration) and nothing has to be measured while sampling. Skipping
 * steps after a computed one, the error of reusing its residual is estimated as Σ|1 − Π ratio| over the skipped
 * steps; a pass skips while that stays below the threshold and it has skipped at most K steps in a row, else it
 * computes and starts again. The first `retention` fraction of the calls always computes.
 */
import { StateMismatchError, type StateRecord } from "./state-record.ts";
import { StepCache, type CacheDecision } from "./step-cache.ts";

export type MagCacheSettings = {
  /** Upper bound of the accumulated error (`magcache_thresh`). */
  threshold: number;
  /** Most steps a pass skips in a row (`magcache_K`). */
  maxSkips: number;
  /** Fraction of the calls at the start that always compute (`retention_ratio`). */
  retention: number;
};

/**
 * Wan2.1-T2V-1.3B's calibrated magnitude ratios for 50 steps (magcache_generate.py, "T2V-1.3B"): per step from the
 * second on, conditional then unconditional pass. The first step has no previous one (ratio 1).
 */
export const WAN_1_3B_MAG_RATIOS: readonly number[] = [
  1.0124, 1.02213, 1.00166, 1.0041, 0.99791, 1.00061, 0.99682, 0.99762, 0.99634, 0.99685, 0.99567, 0.99586, 0.99416,
  0.99422, 0.99578, 0.99575, 0.9957, 0.99563, 0.99511, 0.99506, 0.99535, 0.99531, 0.99552, 0.99549, 0.99541, 0.99539,
  0.9954, 0.99536, 0.99489, 0.99485, 0.99518, 0.99514, 0.99484, 0.99478, 0.99481, 0.99479, 0.99415, 0.99413, 0.99419,
  0.99416, 0.99396, 0.99393, 0.99388, 0.99386, 0.99349, 0.99349, 0.99309, 0.99304, 0.9927, 0.9927, 0.99228, 0.99226,
  0.99171, 0.9917, 0.99137, 0.99135, 0.99068, 0.99063, 0.99005, 0.99003, 0.98944, 0.98942, 0.98849, 0.98849, 0.98758,
  0.98757, 0.98644, 0.98643, 0.98504, 0.98503, 0.9836, 0.98359, 0.98202, 0.98201, 0.97977, 0.97978, 0.97717, 0.97718,
  0.9741, 0.97411, 0.97003, 0.97002, 0.96538, 0.96541, 0.9593, 0.95933, 0.95086, 0.95089, 0.94013, 0.94019, 0.92402,
  0.92414, 0.90241, 0.9026, 0.86821, 0.86868, 0.81838, 0.81939,
];

/** The settings MagCache4Wan2.1 publishes for the 1.3B model ("E012K2R02", "E012K4R02" in its README). */
export const MAGCACHE_WAN_1_3B_SETTINGS = {
  E012K2R02: { threshold: 0.12, maxSkips: 2, retention: 0.2 },
  E012K4R02: { threshold: 0.12, maxSkips: 4, retention: 0.2 },
} as const satisfies Record<string, MagCacheSettings>;

/**
 * The ratio of every call of a `steps`-step run, indexed by step·2 + pass: the calibrated curve, resampled per
 * pass to the nearest calibrated step when the run has another number of steps (as the script does).
 */
export function magRatios(steps: number): number[] {
  const calibrated = [1, 1, ...WAN_1_3B_MAG_RATIOS];
  if (calibrated.length === steps * 2) return calibrated;
  const pass = (p: number) => nearestResample(calibrated.filter((_, i) => i % 2 === p), steps);
  const [cond, uncond] = [pass(0), pass(1)];
  return cond.flatMap((c, i) => [c, uncond[i]]);
}

/** Element round(i·(n−1)/(length−1)) of `src` for i < length (numpy rounding: halves to even). */
function nearestResample(src: number[], length: number): number[] {
  if (length === 1) return [src[src.length - 1]];
  const scale = (src.length - 1) / (length - 1);
  return Array.from({ length }, (_, i) => src[roundHalfEven(i * scale)]);
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export class MagCache extends StepCache {
  readonly measures = null;
  private readonly ratios: number[];
  /** Calls (step·2 + pass) before this one always compute. */
  private readonly retainedCalls: number;
  /** Per pass: the product of the ratios, the steps and the error since its last computed call. */
  private readonly passes = new Map<number, { ratio: number; skipped: number; error: number }>();

  constructor(
    readonly settings: MagCacheSettings,
    totalSteps: number,
  ) {
    super(totalSteps);
    const { threshold, maxSkips, retention } = settings;
    if (!(threshold >= 0)) throw new RangeError(`the MagCache threshold must be ≥ 0 (got ${threshold})`);
    if (!(Number.isInteger(maxSkips) && maxSkips >= 0)) throw new RangeError(`the MagCache K must be an integer ≥ 0 (got ${maxSkips})`);
    if (!(retention >= 0 && retention <= 1)) throw new RangeError(`the MagCache retention must be between 0 and 1 (got ${retention})`);
    this.ratios = magRatios(totalSteps);
    this.retainedCalls = Math.trunc(totalSteps * 2 * retention);
  }

  /** Per pass: the product of the ratios, the steps skipped and the error since its last computed call. */
  protected saveRule(): StateRecord {
    const values: StateRecord["values"] = {};
    for (const [pass, { ratio, skipped, error }] of this.passes) values[`pass.${pass}`] = [ratio, skipped, error];
    return { values, arrays: {} };
  }

  protected restoreRule(state: StateRecord): void {
    for (const [name, saved] of Object.entries(state.values)) {
      const pass = /^pass\.(\d+)$/.exec(name)?.[1];
      if (pass === undefined) continue;
      if (!Array.isArray(saved) || saved.length !== 3) throw new StateMismatchError(`the saved MagCache state of pass ${pass} is malformed`);
      const [ratio, skipped, error] = saved;
      this.passes.set(Number(pass), { ratio, skipped, error });
    }
  }

  protected rule(pass: number, step: number, _modulated: Float32Array | undefined, hasResidual: boolean): CacheDecision {
    const call = step * 2 + pass;
    const state = this.passes.get(pass) ?? { ratio: 1, skipped: 0, error: 0 };
    this.passes.set(pass, state);
    if (call < this.retainedCalls) return { compute: true, distance: 0 };
    state.ratio *= this.ratios[call];
    state.skipped += 1;
    state.error += Math.abs(1 - state.ratio);
    if (hasResidual && state.error < this.settings.threshold && state.skipped <= this.settings.maxSkips) {
      return { compute: false, distance: state.error };
    }
    Object.assign(state, { ratio: 1, skipped: 0, error: 0 });
    return { compute: true, distance: 0 };
  }
}
