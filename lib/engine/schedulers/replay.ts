/**
 * Replays a sampling run from recorded model outputs: starts at the given noise, feeds output i to step i, and
 * keeps every intermediate latent. With the outputs the official code recorded (the `sched_*` goldens, or
 * `e2e_noise_pred` for a real DiT run) this reproduces the official trajectory, so the scheduler can be checked
 * on its own, without a model.
 */
import { createScheduler, type GridName } from "./create-scheduler.ts";
import type { SolverName } from "./flow-scheduler.ts";

export type Trajectory = {
  /** N+1 latents: index 0 is the starting noise, index i the sample after step i−1. */
  latents: Float32Array[];
  /** N+1 sigmas (σ_N = 0), as float32 like the official `scheduler.sigmas`. */
  sigmas: Float32Array;
  /** N timesteps (integers), as float32 like the goldens store them. */
  timesteps: Float32Array;
};

export function replayTrajectory(
  solver: SolverName,
  opts: { steps: number; shift: number; grid?: GridName },
  noise: Float32Array,
  modelOut: Float32Array[],
): Trajectory {
  const scheduler = createScheduler(solver, opts);
  if (modelOut.length !== scheduler.numSteps) {
    throw new RangeError(`${modelOut.length} model outputs for a ${scheduler.numSteps}-step run`);
  }
  const latents: Float32Array[] = [noise];
  let x = noise;
  for (let i = 0; i < scheduler.numSteps; i++) {
    x = scheduler.step(modelOut[i], i, x);
    latents.push(x);
  }
  return {
    latents,
    sigmas: Float32Array.from(scheduler.sigmas),
    timesteps: Float32Array.from(scheduler.timesteps),
  };
}
