/**
 * What every flow-matching scheduler shares (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.convert_model_output): the interpolation x_σ = (1 − σ)·x₀ + σ·ε, so
 * α = 1 − σ; the DiT predicts the velocity v ≈ ε − x₀; the data prediction is m = x − σ·v; and the half
 * log-SNR λ(σ) = ln α − ln σ that the multistep solvers step in.
 *
 * A scheduler is built for a whole run (grid + solver) and then fed one model output per step, in order, like
 * the official `scheduler.step(model_output, t, sample)`. Steps are addressed by index i (0…N−1), never looked
 * up by timestep value: the official `index_for_timestep` picks the second match when a timestep repeats, which
 * only happens for grids of ~250+ steps and would skip a sigma there.
 */

import type { Solver as SolverName } from "../../schemas/generation.ts";
import { emptyState, StateMismatchError, stateNumber, type StateRecord } from "../state-record.ts";
import type { FlowGrid } from "./sigmas.ts";

export type { SolverName };

export interface FlowScheduler {
  readonly solver: SolverName;
  /** σ_0…σ_N (N+1 values, float32-valued, σ_N = 0). */
  readonly sigmas: Float64Array;
  /** t_0…t_{N−1}: the timesteps the DiT receives (integers on the official grids). */
  readonly timesteps: number[];
  /** N, the number of model evaluations of a full run. */
  readonly numSteps: number;
  /** The first step this scheduler runs (0 for text-to-video; k > 0 when starting from a noised latent). */
  readonly startStep: number;
  /** The sample a text-to-video run starts from, given the seed's noise ε (ε itself, except for rCM). */
  initialSample(noise: Float32Array): Float32Array;
  /**
   * One solver step: `modelOutput` is the (guided) velocity at (sample, t_i); returns x_{i+1} as float32.
   * Must be called with i = startStep, startStep + 1, …, N − 1 in order; the inputs are not modified.
   */
  step(modelOutput: Float32Array, i: number, sample: Float32Array): Float32Array;
  /**
   * Everything the next `step` depends on besides its inputs: the next step index and the solver's history
   * (for a checkpoint, checkpoint.ts). Taken between steps.
   */
  saveState(): StateRecord;
  /**
   * Puts a saved state into this scheduler, built with the same solver, grid and start step and not stepped
   * yet; the next `step` then computes exactly what the saved scheduler's would have. Throws
   * StateMismatchError when the state does not fit.
   */
  restoreState(state: StateRecord): void;
}

/** λ(σ) = ln(1 − σ) − ln σ, with the grid's end points made explicit: λ(0) = +∞, λ(1) = −∞. */
export function logSnr(sigma: number): number {
  if (sigma === 0) return Infinity;
  if (sigma === 1) return -Infinity;
  return Math.log(1 - sigma) - Math.log(sigma);
}

/** Checks that a grid has the shape every scheduler relies on: N ≥ 1, σ strictly decreasing in [0, 1], σ_N = 0. */
function checkGrid(sigmas: Float64Array, timesteps: number[]): void {
  const n = timesteps.length;
  if (n < 1 || sigmas.length !== n + 1) {
    throw new RangeError(`a grid needs N ≥ 1 timesteps and N+1 sigmas, got ${n} and ${sigmas.length}`);
  }
  if (sigmas[n] !== 0) throw new RangeError(`the last sigma must be 0, got ${sigmas[n]}`);
  for (let i = 0; i < n; i++) {
    if (!(sigmas[i] > sigmas[i + 1]) || sigmas[i] > 1) {
      throw new RangeError(`sigmas must decrease strictly within [0, 1]; σ_${i} = ${sigmas[i]}, σ_${i + 1} = ${sigmas[i + 1]}`);
    }
  }
}

/** m = x − σ·v (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.convert_model_output), rounded to float32 like the official scheduler's stored model outputs. */
export function dataPrediction(sample: Float32Array, velocity: Float32Array, sigma: number): Float32Array {
  const m = new Float32Array(sample.length);
  for (let j = 0; j < m.length; j++) m[j] = sample[j] - sigma * velocity[j];
  return m;
}

/**
 * The part every solver shares: the grid (checked once), and the order of the calls. The multistep solvers
 * carry history from step to step, so a skipped or repeated step would silently produce a wrong trajectory;
 * `step` refuses it, then hands the solver its update with `first` set on the first step of the run, where
 * every multistep history starts empty.
 */
export abstract class FlowSchedulerBase implements FlowScheduler {
  abstract readonly solver: SolverName;
  readonly sigmas: Float64Array;
  readonly timesteps: number[];
  readonly numSteps: number;
  readonly startStep: number;
  private next: number;
  private size = -1;

  /** @param startStep first step to run; the history starts empty there (see forward-noise.ts for the sample). */
  constructor(grid: FlowGrid, startStep = 0) {
    checkGrid(grid.sigmas, grid.timesteps);
    this.sigmas = grid.sigmas;
    this.timesteps = grid.timesteps;
    this.numSteps = grid.timesteps.length;
    if (!Number.isInteger(startStep) || startStep < 0 || startStep >= this.numSteps) {
      throw new RangeError(`startStep must be an integer in [0, ${this.numSteps - 1}], got ${startStep}`);
    }
    this.startStep = startStep;
    this.next = startStep;
  }

  /** The official Wan grids start from x = ε at σ_0 ≈ 1 (official wan/text2video.py, WanT2V.generate (seeded noise)). */
  initialSample(noise: Float32Array): Float32Array {
    return noise;
  }

  step(modelOutput: Float32Array, i: number, sample: Float32Array): Float32Array {
    if (this.next >= this.numSteps) throw new Error(`step ${i} called after the last step (${this.numSteps - 1})`);
    if (i !== this.next) throw new Error(`step ${i} called out of order: expected step ${this.next}`);
    if (modelOutput.length !== sample.length) {
      throw new RangeError(`model output has ${modelOutput.length} values but the sample has ${sample.length}`);
    }
    if (this.size >= 0 && sample.length !== this.size) {
      throw new RangeError(`step ${i} got ${sample.length} values but earlier steps had ${this.size}`);
    }
    this.size = sample.length;
    this.next++;
    return this.update(modelOutput, i, sample, i === this.startStep);
  }

  saveState(): StateRecord {
    const state = this.saveHistory();
    state.values.next = this.next;
    state.values.size = this.size;
    return state;
  }

  restoreState(state: StateRecord): void {
    if (this.next !== this.startStep) throw new Error("restoreState needs a scheduler that has not stepped yet");
    const next = stateNumber(state, "next");
    const size = stateNumber(state, "size");
    if (!Number.isInteger(next) || next <= this.startStep || next > this.numSteps) {
      throw new StateMismatchError(`the saved scheduler is at step ${next}, outside ${this.startStep + 1}…${this.numSteps}`);
    }
    if (!Number.isInteger(size) || size < 1) throw new StateMismatchError(`the saved sample size ${size} is not a positive integer`);
    this.restoreHistory(state, size, next);
    this.next = next;
    this.size = size;
  }

  /** The step the next `step` call must be for. */
  protected nextStep(): number {
    return this.next;
  }

  /** The solver's history after the last step (nothing for a one-step solver). */
  protected saveHistory(): StateRecord {
    return emptyState();
  }

  /** Restores `saveHistory`'s record; `size` is the sample length, `next` the step that runs next. */
  protected restoreHistory(_state: StateRecord, _size: number, _next: number): void {}

  /** The solver's update x_i → x_{i+1}, called in order; `first` marks the first step of this run. */
  protected abstract update(modelOutput: Float32Array, i: number, sample: Float32Array, first: boolean): Float32Array;
}
