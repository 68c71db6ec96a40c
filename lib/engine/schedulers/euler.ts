/**
 * Plain flow-matching Euler: integrate dx/dσ = v from σ_i to σ_{i+1},
 *   x_{i+1} = x_i + (σ_{i+1} − σ_i)·v_i.
 * First order and stateless, so it needs no warm-up and starts at any step as is. Not an official Wan solver;
 * it runs on the official UniPC grid (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.set_timesteps) by default so its timesteps match what the DiT saw in training.
 */
import { FlowSchedulerBase } from "./flow-scheduler.ts";

export class FlowEulerScheduler extends FlowSchedulerBase {
  readonly solver = "euler" as const;

  protected update(modelOutput: Float32Array, i: number, sample: Float32Array): Float32Array {
    const dσ = this.sigmas[i + 1] - this.sigmas[i];
    const out = new Float32Array(sample.length);
    for (let j = 0; j < out.length; j++) out[j] = sample[j] + dσ * modelOutput[j];
    return out;
  }
}
