/**
 * Sigma / timestep grids for flow-matching sampling (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.set_timesteps and Diffusers UniPCMultistepScheduler.set_timesteps (use_flow_sigmas)).
 *
 * A grid is N+1 noise levels σ_0 > … > σ_{N−1} > σ_N = 0 and N integer timesteps t_i = trunc(σ_i·1000) that the
 * DiT receives. The official code builds the grid in float64 with numpy, truncates the timesteps from the float64
 * values and only then stores σ as float32; we follow the same order of operations (including numpy's own
 * linspace arithmetic) so the timesteps are bit-exact and the sigmas equal the official float32 values.
 */

/** `num_train_timesteps` of every Wan 2.1 scheduler (official generate.py, _validate_args): t = σ·1000. */
export const NUM_TRAIN_TIMESTEPS = 1000;

/**
 * σ_max of the official UniPC grid (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.set_timesteps): the training grid is 1 − linspace(1, 1/1000, 1000) reversed,
 * stored as float32, so its first entry is float32(1 − 0.001) = 0.9990000128746033, not 0.999.
 */
export const OFFICIAL_SIGMA_MAX = Math.fround(1 - 1 / NUM_TRAIN_TIMESTEPS);

export type FlowGrid = {
  /** N+1 values, σ_N = 0; each one is a float32 value (the official code stores them as float32). */
  sigmas: Float64Array;
  /** N integer timesteps t_i = trunc(σ_i·1000), taken from the float64 σ before the float32 rounding. */
  timesteps: number[];
};

/**
 * numpy.linspace(start, stop, num) (endpoint=True) with numpy's arithmetic: step = (stop − start)/(num − 1),
 * y_i = i·step + start, and the last element set to `stop` exactly. A closed form such as start·(1 − i/N)
 * differs in the last bit for some i, which can move a truncated timestep across an integer.
 */
export function numpyLinspace(start: number, stop: number, num: number): Float64Array {
  const y = new Float64Array(num);
  if (num === 1) {
    y[0] = start;
    return y;
  }
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  for (let i = 0; i < num; i++) {
    // numpy divides instead of multiplying by a step that underflowed to 0.
    y[i] = (step === 0 ? (i / div) * delta : i * step) + start;
  }
  y[num - 1] = stop;
  return y;
}

/**
 * The timestep shift σ ← s·σ / (1 + (s − 1)·σ) (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.set_timesteps), evaluated in the same order as the official
 * numpy expression `shift * sigmas / (1 + (shift - 1) * sigmas)`.
 */
export function shiftSigma(sigma: number, shift: number): number {
  return (shift * sigma) / (1 + (shift - 1) * sigma);
}

/** t = int64(σ·1000): truncation toward zero, not rounding (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.set_timesteps: 999.8 → 999). */
export function sigmaToTimestep(sigma: number): number {
  return Math.trunc(sigma * NUM_TRAIN_TIMESTEPS);
}

function checkSettings(steps: number, shift: number): void {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  if (!Number.isFinite(shift) || shift <= 0) throw new RangeError(`shift must be a positive number, got ${shift}`);
}

/** Shifted float64 σ_0…σ_{N−1} → the grid: timesteps from float64, σ stored as float32, σ_N = 0 appended. */
function finishGrid(shifted: Float64Array): FlowGrid {
  const n = shifted.length;
  const sigmas = new Float64Array(n + 1);
  const timesteps: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    timesteps[i] = sigmaToTimestep(shifted[i]);
    sigmas[i] = Math.fround(shifted[i]);
  }
  sigmas[n] = 0; // final_sigmas_type = "zero" (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.set_timesteps)
  return { sigmas, timesteps };
}

/**
 * The official UniPC grid (WAN `FlowUniPCMultistepScheduler.set_timesteps`, official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.set_timesteps):
 * σ_i = linspace(σ_max, 0, N+1)[i] for i < N, shifted, then σ_N = 0.
 * E.g. N = 10, s = 5 → t = 999, 978, 952, 920, 882, 833, 768, 681, 555, 356.
 */
export function officialUniPCGrid(steps: number, shift: number): FlowGrid {
  checkSettings(steps, shift);
  const base = numpyLinspace(OFFICIAL_SIGMA_MAX, 0, steps + 1).subarray(0, steps);
  return finishGrid(base.map((sigma) => shiftSigma(sigma, shift)));
}

/**
 * The official DPM++ grid (WAN `get_sampling_sigmas`, official wan/utils/fm_solvers.py, get_sampling_sigmas): σ_i = linspace(1, 0, N+1)[i] for
 * i < N, shifted (σ_0 = 1 exactly, so t_0 = 1000), passed to the scheduler as explicit sigmas, σ_N = 0 appended.
 * The scheduler itself was built with shift 1, so the second shift it applies is the identity.
 */
export function officialDpmppGrid(steps: number, shift: number): FlowGrid {
  checkSettings(steps, shift);
  const base = numpyLinspace(1, 0, steps + 1).subarray(0, steps);
  return finishGrid(base.map((sigma) => shiftSigma(sigma, shift)));
}

/**
 * The Diffusers `UniPCMultistepScheduler` flow grid (`use_flow_sigmas`, Diffusers UniPCMultistepScheduler.set_timesteps (use_flow_sigmas)): σ = linspace(1, 1/1000, N+1)[:−1],
 * shifted with `flow_shift`, and σ_0 ← σ_0 − 1e-6 when it is within 1e-6 of 1 (Diffusers does this so that
 * log(α) = log(1 − σ) stays finite in the multistep updates). N = 50, flow_shift 3 → t = 999, 993, 986, 979 …
 * 208, 162, 113, 60.
 */
export function diffusersFlowGrid(steps: number, shift: number): FlowGrid {
  checkSettings(steps, shift);
  const base = numpyLinspace(1, 1 / NUM_TRAIN_TIMESTEPS, steps + 1).subarray(0, steps);
  const shifted = base.map((sigma) => shiftSigma(sigma, shift));
  if (Math.abs(shifted[0] - 1) < 1e-6) shifted[0] -= 1e-6;
  return finishGrid(shifted);
}
