/**
 * Plain flow-matching Euler: integrate dx/dσ = v from σ_i to σ_{i+1},
 *   x_{i+1} = x_i + (σ_{i+1} − σ_i)·v_i.
 * First order and stateless, so it needs no warm-up and starts at any step as is. Not an official Wan solver;
 * it runs on the official UniPC grid (§5.2) by default so its timesteps match what the DiT saw in training.
 */
import { checkGrid, StepCursor, type FlowScheduler } from "./flow-scheduler.ts";
import type { FlowGrid } from "./sigmas.ts";

export class FlowEulerScheduler implements FlowScheduler {
  readonly solver = "euler" as const;
  readonly sigmas: Float64Array;
  readonly timesteps: number[];
  readonly numSteps: number;
  readonly startStep: number;
  private readonly cursor: StepCursor;

  constructor(grid: FlowGrid, startStep = 0) {
    checkGrid(grid.sigmas, grid.timesteps);
    this.sigmas = grid.sigmas;
    this.timesteps = grid.timesteps;
    this.numSteps = grid.timesteps.length;
    this.startStep = startStep;
    this.cursor = new StepCursor(this.numSteps, startStep);
  }

  step(modelOutput: Float32Array, i: number, sample: Float32Array): Float32Array {
    this.cursor.take(i, modelOutput, sample);
    const dσ = this.sigmas[i + 1] - this.sigmas[i];
    const out = new Float32Array(sample.length);
    for (let j = 0; j < out.length; j++) out[j] = sample[j] + dσ * modelOutput[j];
    return out;
  }
}
