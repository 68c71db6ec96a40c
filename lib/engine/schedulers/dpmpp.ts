/**
 * FlowDPMSolverMultistepScheduler as Wan 2.1's `--sample_solver dpm++` runs it (official wan/utils/fm_solvers.py, FlowDPMSolverMultistepScheduler): DPM-Solver++
 * (data prediction), multistep order 2 with the "midpoint" update, lower_order_final, final σ = 0, no corrector.
 *
 * With m_i = x_i − σ_i·v_i, α = 1 − σ, λ = ln α − ln σ and h = λ_{i+1} − λ_i:
 *   first order (the first step of a run and the last step):
 *     x_{i+1} = (σ_{i+1}/σ_i)·x_i − α_{i+1}·(e^{−h} − 1)·m_i
 *   second order otherwise, with r₀ = (λ_i − λ_{i−1})/h and D₁ = (m_i − m_{i−1})/r₀:
 *     x_{i+1} = (σ_{i+1}/σ_i)·x_i − α_{i+1}·(e^{−h} − 1)·m_i − ½·α_{i+1}·(e^{−h} − 1)·D₁
 * The official DPM++ grid starts at σ_0 = 1, so λ_0 = −∞: the first step becomes x_1 = σ_1·x_0 + α_1·m_0 and
 * the second step's D₁ vanishes (r₀ = ∞). Both limits are handled explicitly below.
 *
 * Scalars are float64 from the float32 sigmas; each element is one float64 expression rounded to float32.
 */
import { StateMismatchError, stateArray, type StateRecord } from "../state-record.ts";
import { dataPrediction, FlowSchedulerBase, logSnr } from "./flow-scheduler.ts";

export class FlowDpmppScheduler extends FlowSchedulerBase {
  readonly solver = "dpmpp" as const;
  /** λ_i = λ(σ_i) for every grid point. */
  private readonly lambdas = this.sigmas.map(logSnr);
  /** m_{i−1}, the previous step's data prediction. */
  private mPrev: Float32Array | undefined;

  /** m_{i−1}: the only history the second-order update reads. */
  protected override saveHistory(): StateRecord {
    return { values: {}, arrays: this.mPrev ? { mPrev: this.mPrev } : {} };
  }

  protected override restoreHistory(state: StateRecord, size: number): void {
    const mPrev = stateArray(state, "mPrev", size);
    if (!mPrev) throw new StateMismatchError("the saved DPM++ state lacks m_{i−1}");
    this.mPrev = mPrev;
  }

  /** A run's first step (no history yet) and its last are first order (lower_order_final). */
  protected update(modelOutput: Float32Array, i: number, sample: Float32Array, first: boolean): Float32Array {
    const σ = this.sigmas[i];
    const σNext = this.sigmas[i + 1];
    const αNext = 1 - σNext;
    const λ = this.lambdas;

    const m = dataPrediction(sample, modelOutput, σ);

    // σ_{i+1} = 0 (last step) ⇒ h = +∞, e^{−h} − 1 = −1, σ_{i+1}/σ_i = 0: x_N = m_{N−1}.
    // σ_i = 1 (λ_i = −∞) also gives h = +∞ and e^{−h} − 1 = −1, with σ_{i+1}/σ_i = σ_{i+1}.
    const last = σNext === 0;
    const h = last || σ === 1 ? Infinity : λ[i + 1] - λ[i];
    const expm1h = Math.expm1(-h); // e^{−h} − 1, −1 when h = ∞
    const ratio = last ? 0 : σNext / σ;

    const firstOrder = first || i === this.numSteps - 1;
    const out = new Float32Array(m.length);
    if (firstOrder) {
      for (let j = 0; j < out.length; j++) out[j] = ratio * sample[j] - αNext * expm1h * m[j];
    } else {
      const mPrev = this.mPrev!;
      // r₀ = ∞ when λ_{i−1} = −∞ (σ_{i−1} = 1): then D₁ = (m_i − m_{i−1})/r₀ = 0.
      const r0 = (λ[i] - λ[i - 1]) / h;
      const useD1 = Number.isFinite(r0);
      for (let j = 0; j < out.length; j++) {
        const D1 = useD1 ? (m[j] - mPrev[j]) / r0 : 0;
        out[j] = ratio * sample[j] - αNext * expm1h * m[j] - 0.5 * αNext * expm1h * D1;
      }
    }
    this.mPrev = m;
    return out;
  }
}
