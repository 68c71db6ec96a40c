/**
 * The few-step sampler of rCM (NVlabs, "rCM: score-regularized continuous-time consistency", Wan2.1 T2V 1.3B
 * 480p, 1–4 steps), as the official script runs it: NVlabs/rcm rcm/inference/wan2pt1_t2v_rcm_infer.py, the
 * `__main__` sampling loop (commit 5b41aa9).
 *
 * The grid is set in TrigFlow time τ ∈ [0, π/2] and converted to the rectified-flow σ the Wan DiT was trained on:
 *   τ = [atan(σ_max = 80), 1.5, 1.4, 1.0][: N] followed by 0,      σ(τ) = sin τ / (cos τ + sin τ)
 * so σ_0 = 80/81 and, for N = 4, σ = 0.98765, 0.93378, 0.85289, 0.60899, 0. The run starts from x_0 = σ_0·ε
 * (the script's `init_noise * t_steps[0]`), the DiT sees the timestep 1000·σ_i as a bfloat16 value (the script
 * casts it with the network's dtype, so 1000·0.98765 reaches the sinusoid as 988, not 987.65), and guidance
 * is off (one conditional call per step). Each step is a consistency jump to the data and back:
 *   x̂₀ = x_i − σ_i·v_i                                (the flow's data prediction, official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.convert_model_output)
 *   x_{i+1} = (1 − σ_{i+1})·x̂₀ + σ_{i+1}·ε_{i+1}       (fresh noise at every step; the last step returns x̂₀)
 * The script draws ε_{i+1} from the same generator as the initial noise, right after it; here it is the
 * continuation of the seed's stream (lib/engine/noise.ts): values [(i+1)·n, (i+2)·n) for an n-value latent, so
 * a seed reproduces the whole run. Like the official code this is not PyTorch's generator (see noise.ts).
 *
 * The official loop keeps x in float64 between steps; here each step's arithmetic is float64 rounded once to
 * float32, the engine's latent type.
 */
import { convertFloats, toFloat32 } from "../../../models/graph/dtype.ts";
import { StateMismatchError, stateNumber, type StateRecord } from "../state-record.ts";
import { FlowSchedulerBase } from "./flow-scheduler.ts";
import { NUM_TRAIN_TIMESTEPS, type FlowGrid } from "./sigmas.ts";

/** `--sigma_max` default of the official script: the TrigFlow start is atan(80). */
export const RCM_SIGMA_MAX = 80;
/** The intermediate TrigFlow times of the official script ("for better visual quality"), used N − 1 of them. */
export const RCM_MID_TIMES = [1.5, 1.4, 1.0] as const;
/** The step counts rCM was distilled for (the script's `--num_steps` choices). */
export const RCM_MAX_STEPS = RCM_MID_TIMES.length + 1;

/** Rectified-flow σ for TrigFlow time τ (the script's `sin(t) / (cos(t) + sin(t))`). */
export function trigflowToSigma(tau: number): number {
  return Math.sin(tau) / (Math.cos(tau) + Math.sin(tau));
}

/** x rounded to the nearest bfloat16 (ties to even), through float32 as the engine's weight conversion does. */
export function roundToBfloat16(x: number): number {
  const bytes = convertFloats(new Uint8Array(Float32Array.of(x).buffer), "float32", "bfloat16");
  return toFloat32(bytes, "bfloat16")[0];
}

/** rCM's grid for N = 1…4 steps: float64 σ as the script keeps them, and the bfloat16 timesteps the DiT sees. */
export function rcmGrid(steps: number): FlowGrid {
  if (!Number.isInteger(steps) || steps < 1 || steps > RCM_MAX_STEPS) {
    throw new RangeError(`rCM samples in 1 to ${RCM_MAX_STEPS} steps, got ${steps}`);
  }
  const taus = [Math.atan(RCM_SIGMA_MAX), ...RCM_MID_TIMES.slice(0, steps - 1)];
  const sigmas = Float64Array.from([...taus.map(trigflowToSigma), 0]);
  // `t_cur.float() * 1000` then `.to(bfloat16)`: float32 σ, scaled, rounded to bfloat16.
  const timesteps = taus.map((_, i) => roundToBfloat16(Math.fround(sigmas[i]) * NUM_TRAIN_TIMESTEPS));
  return { sigmas, timesteps };
}

/** Fresh standard normal noise for the step that lands on σ_{i+1} (n values; see the stream layout above). */
export type StepNoise = (i: number, count: number) => Float32Array;

export class RcmScheduler extends FlowSchedulerBase {
  readonly solver = "rcm" as const;

  /**
   * @param stepNoise the noise re-injected after step i (not called on the last step, whose σ_{i+1} is 0)
   * @param startStep a later first step for video-to-video (the sample there is forwardNoise at σ_k)
   */
  constructor(grid: FlowGrid, private readonly stepNoise: StepNoise, startStep = 0) {
    super(grid, startStep);
  }

  /**
   * The noise stream's position: step i draws values [(i+1)·n, (i+2)·n) of the seed's counter-based stream
   * (noise.ts), a function of the step index alone, so the next step index restores it. It is saved anyway
   * (the offset the next step reads from, in values per sample) and checked on restore, so a checkpoint
   * written by a build with another stream layout is refused rather than continued with other noise.
   */
  protected override saveHistory(): StateRecord {
    return { values: { noiseStreamBlock: this.noiseStreamBlock(this.nextStep()) }, arrays: {} };
  }

  protected override restoreHistory(state: StateRecord, _size: number, next: number): void {
    const saved = stateNumber(state, "noiseStreamBlock");
    if (saved !== this.noiseStreamBlock(next)) {
      throw new StateMismatchError(`the saved rCM noise stream is at block ${saved}, step ${next} reads block ${this.noiseStreamBlock(next)}`);
    }
  }

  /** The block of n values (n = one sample) the noise after step i starts at: i + 1 (block 0 is the initial noise). */
  private noiseStreamBlock(i: number): number {
    return i + 1;
  }

  /** x_0 = σ_0·ε: the script starts from scaled noise, not from ε at σ ≈ 1 as the official Wan grids do. */
  override initialSample(noise: Float32Array): Float32Array {
    const σ0 = this.sigmas[0];
    return noise.map((e) => σ0 * e);
  }

  protected update(modelOutput: Float32Array, i: number, sample: Float32Array): Float32Array {
    const σ = this.sigmas[i];
    const σNext = this.sigmas[i + 1];
    const out = new Float32Array(sample.length);
    if (σNext === 0) {
      for (let j = 0; j < out.length; j++) out[j] = sample[j] - σ * modelOutput[j];
      return out;
    }
    const ε = this.stepNoise(i, sample.length);
    if (ε.length !== sample.length) throw new RangeError(`step noise has ${ε.length} values, the sample ${sample.length}`);
    for (let j = 0; j < out.length; j++) out[j] = (1 - σNext) * (sample[j] - σ * modelOutput[j]) + σNext * ε[j];
    return out;
  }
}
