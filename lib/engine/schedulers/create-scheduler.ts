/**
 * One entry point for the studio: pick a solver and a grid, get a scheduler.
 *
 * grid "official" is what the official Wan code uses for that solver: the UniPC grid (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.set_timesteps, σ_0 = shift(σ_max))
 * for "unipc" and "euler", the DPM++ grid (σ_0 = 1, t_0 = 1000) for "dpmpp". grid "diffusers" is the Diffusers
 * `use_flow_sigmas` grid (Diffusers UniPCMultistepScheduler.set_timesteps (use_flow_sigmas)) for any solver. "rcm"
 * (rcm.ts) is the sampler of rCM-distilled checkpoints, on its own fixed grid.
 */
import { SOLVERS, type Grid as GridName } from "../../schemas/generation.ts";
import { FlowDpmppScheduler } from "./dpmpp.ts";
import { FlowEulerScheduler } from "./euler.ts";
import type { FlowScheduler, SolverName } from "./flow-scheduler.ts";
import { gaussianNoise } from "../noise.ts";
import { rcmGrid, RcmScheduler } from "./rcm.ts";
import { diffusersFlowGrid, officialDpmppGrid, officialUniPCGrid, type FlowGrid } from "./sigmas.ts";
import { FlowUniPCScheduler } from "./unipc.ts";

export type { GridName };

export type SchedulerOptions = {
  /** N, the number of sampling steps (model evaluations of a full run). */
  steps: number;
  /** The timestep shift s (official generate.py, _validate_args: 5.0 by default, 8–12 advised for the 1.3B). */
  shift: number;
  grid?: GridName;
  /**
   * Start at step k instead of 0 (image/video-to-video): noise the clean latent to σ_k with `forwardNoise`
   * (forward-noise.ts), then call step(…, i) for i = k…N−1. The multistep history starts fresh at k.
   */
  startStep?: number;
  /**
   * The run's seed, for samplers that draw fresh noise at every step (rCM): they continue the seed's stream
   * after the initial noise, so the seed alone reproduces the run.
   */
  seed?: number;
};


/** The σ/timestep grid `createScheduler` would use for these settings. */
export function gridFor(solver: SolverName, steps: number, shift: number, grid: GridName = "official"): FlowGrid {
  if (solver === "rcm") return rcmGrid(steps); // the distilled recipe's own grid: shift and grid do not apply
  if (grid === "diffusers") return diffusersFlowGrid(steps, shift);
  if (grid !== "official") throw new RangeError(`unknown grid "${grid as string}" (official or diffusers)`);
  return solver === "dpmpp" ? officialDpmppGrid(steps, shift) : officialUniPCGrid(steps, shift);
}

export function createScheduler(solver: SolverName, opts: SchedulerOptions): FlowScheduler {
  const grid = gridFor(solver, opts.steps, opts.shift, opts.grid);
  const start = opts.startStep ?? 0;
  switch (solver) {
    case "unipc":
      return new FlowUniPCScheduler(grid, start);
    case "dpmpp":
      return new FlowDpmppScheduler(grid, start);
    case "euler":
      return new FlowEulerScheduler(grid, start);
    case "rcm": {
      const seed = opts.seed;
      if (seed === undefined) throw new RangeError("the rcm sampler re-injects noise at every step: give it the run's seed");
      // Step i's noise follows the initial noise (values 0…n−1) in the seed's stream: values (i+1)·n…(i+2)·n−1.
      return new RcmScheduler(grid, (i, n) => gaussianNoise(seed, n, (i + 1) * n), start);
    }
    default:
      throw new RangeError(`unknown solver "${solver as string}" (${SOLVERS.join(", ")})`);
  }
}
