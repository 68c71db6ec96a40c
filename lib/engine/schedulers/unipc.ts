/**
 * FlowUniPCMultistepScheduler exactly as Wan 2.1 runs it (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler): solver order 2, B(h) = expm1(−h)
 * ("bh2"), data prediction (predict_x0), lower_order_final, and the UniC corrector on every step ≥ 1.
 *
 * Per step i, with x_i the sample handed in (the previous predictor's output):
 *   1. m_i = x_i − σ_i·v_i                                              (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.convert_model_output)
 *   2. corrector, i ≥ 1: x̂_i from x̂_{i−1}, m_{i−1}, m_i (and m_{i−2} when the previous predictor was order 2)
 *   3. predictor of order q_i (1 on the first and the last step, else 2): x_{i+1} from x̂_i, m_i (and m_{i−1})
 *   4. keep m_i, x̂_i, q_i for the next step.
 *
 * Scalars (λ, h, φ, B, r, ρ) are computed in float64 from the float32 sigmas; each element update is one float64
 * expression rounded once to float32. The official code rounds every intermediate tensor to float32, so results
 * differ by a few float32 ulps per step (about 1e-6 over a 10-step run), far inside the 1e-4 golden bar.
 */
import { StateMismatchError, stateArray, stateNumber, type StateRecord } from "../state-record.ts";
import { dataPrediction, FlowSchedulerBase, logSnr } from "./flow-scheduler.ts";

const SOLVER_ORDER = 2;

export class FlowUniPCScheduler extends FlowSchedulerBase {
  readonly solver = "unipc" as const;
  /** λ_i = λ(σ_i) for every grid point, λ_N = +∞. */
  private readonly lambdas = this.sigmas.map(logSnr);

  // History carried from step i−1 (and i−2) into step i.
  /** m_{i−1}, m_{i−2}: data predictions of the previous two steps. */
  private mPrev: Float32Array | undefined;
  private mPrev2: Float32Array | undefined;
  /** x̂_{i−1}: the corrected sample that entered the previous predictor. */
  private xHatPrev: Float32Array | undefined;
  /** q_{i−1}: the order the previous predictor used (= the corrector's order p now). */
  private qPrev = 0;

  /** m_{i−1}, m_{i−2}, x̂_{i−1} and q_{i−1}: all the corrector and predictor of the next step read. */
  protected override saveHistory(): StateRecord {
    const arrays: Record<string, Float32Array> = {};
    if (this.mPrev) arrays.mPrev = this.mPrev;
    if (this.mPrev2) arrays.mPrev2 = this.mPrev2;
    if (this.xHatPrev) arrays.xHatPrev = this.xHatPrev;
    return { values: { qPrev: this.qPrev }, arrays };
  }

  protected override restoreHistory(state: StateRecord, size: number, next: number): void {
    const qPrev = stateNumber(state, "qPrev");
    if (qPrev !== 1 && qPrev !== 2) throw new StateMismatchError(`the saved UniPC order ${qPrev} is not 1 or 2`);
    const mPrev = stateArray(state, "mPrev", size);
    const xHatPrev = stateArray(state, "xHatPrev", size);
    if (!mPrev || !xHatPrev) throw new StateMismatchError("the saved UniPC state lacks its history");
    // Two steps into the run the second-order corrector reads m_{i−2} as well.
    const mPrev2 = stateArray(state, "mPrev2", size);
    if (!mPrev2 && next - this.startStep >= 2) throw new StateMismatchError("the saved UniPC state lacks m_{i−2}");
    Object.assign(this, { mPrev, mPrev2, xHatPrev, qPrev });
  }

  /**
   * On the first step of a run (step 0, or the start step k of image/video-to-video) the history is empty:
   * no corrector, first-order predictor.
   */
  protected update(modelOutput: Float32Array, i: number, sample: Float32Array, first: boolean): Float32Array {
    // 1. Data prediction.
    const m = dataPrediction(sample, modelOutput, this.sigmas[i]);

    // 2. Corrector (UniC), only after a previous step of this run; it replaces the predicted x_i by x̂_i.
    const xHat = first ? sample : this.correct(i, m);

    // 3. Predictor (UniP). Order 1 on the first step (no history yet: the official warm-up) and on the last step
    //    (lower_order_final), else 2.
    const q = first ? 1 : Math.min(SOLVER_ORDER, this.numSteps - i);
    const next = this.predict(i, q, xHat, m);

    // 4. Keep what the next step's corrector and predictor need.
    this.mPrev2 = this.mPrev;
    this.mPrev = m;
    this.xHatPrev = xHat;
    this.qPrev = q;
    return next;
  }

  /** Official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.multistep_uni_c_bh_update: x̂_i from x̂_{i−1} with the UniC corrector of order p = q_{i−1}. */
  private correct(i: number, m: Float32Array): Float32Array {
    const xHatPrev = this.xHatPrev!;
    const mPrev = this.mPrev!;
    const p = this.qPrev;
    const σ = this.sigmas[i];
    const σPrev = this.sigmas[i - 1];
    const α = 1 - σ;
    const λ = this.lambdas;

    // σ_i > 0 here (i ≤ N−1), so h is finite unless σ_{i−1} = 1 (λ = −∞), where expm1(−∞) = −1 is the limit.
    const h = λ[i] - λ[i - 1];
    const φ = Math.expm1(-h);
    const B = φ; // bh2: B(h) = expm1(−h)
    const ratio = σ / σPrev;

    let ρ0 = 0; // weight of D = (m_{i−2} − m_{i−1})/r
    let ρ1 = 0.5; // weight of (m_i − m_{i−1}); p = 1 uses the fixed ½
    let r = 1;
    if (p === 2) {
      r = (λ[i - 2] - λ[i - 1]) / h;
      const hh = -h;
      const b1 = (φ / hh - 1) / B;
      const b2 = (2 * ((φ / hh - 1) / hh - 0.5)) / B;
      // Solve [[1, 1], [r, 1]]·ρ = [b1, b2]. r < 0 on a decreasing grid, so 1 − r > 1 and this never divides by 0.
      // r = −∞ (σ_{i−2} = 1) is the limit where D vanishes and ρ = [0, b1].
      ρ0 = Number.isFinite(r) ? (b1 - b2) / (1 - r) : 0;
      ρ1 = b1 - ρ0;
    }

    const mPrev2 = this.mPrev2;
    const useD = p === 2 && ρ0 !== 0;
    const out = new Float32Array(m.length);
    for (let j = 0; j < out.length; j++) {
      const base = ratio * xHatPrev[j] - α * φ * mPrev[j];
      const D = useD ? (mPrev2![j] - mPrev[j]) / r : 0;
      out[j] = base - α * B * (ρ0 * D + ρ1 * (m[j] - mPrev[j]));
    }
    return out;
  }

  /** Official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.multistep_uni_p_bh_update: x_{i+1} from x̂_i with the UniP predictor of order q. */
  private predict(i: number, q: number, xHat: Float32Array, m: Float32Array): Float32Array {
    const σNext = this.sigmas[i + 1];
    const αNext = 1 - σNext;
    const λ = this.lambdas;
    // Last step: σ_{i+1} = 0 ⇒ λ = +∞, h = +∞, φ = expm1(−∞) = −1 and σ_{i+1}/σ_i = 0, so x_N = m_i (the final
    // data prediction). Spelled out rather than left to ∞ arithmetic.
    const last = σNext === 0;
    const h = last ? Infinity : λ[i + 1] - λ[i];
    const φ = last ? -1 : Math.expm1(-h);
    const B = φ;
    const ratio = last ? 0 : σNext / this.sigmas[i];

    const out = new Float32Array(m.length);
    if (q === 1) {
      for (let j = 0; j < out.length; j++) out[j] = ratio * xHat[j] - αNext * φ * m[j];
      return out;
    }
    // q = 2 never happens on the last step (lower_order_final), so h is finite here.
    const mPrev = this.mPrev!;
    const r = (λ[i - 1] - λ[i]) / h;
    // r = −∞ when σ_{i−1} = 1: D = (m_{i−1} − m_i)/r vanishes.
    const useD = Number.isFinite(r);
    for (let j = 0; j < out.length; j++) {
      const D = useD ? (mPrev[j] - m[j]) / r : 0;
      out[j] = ratio * xHat[j] - αNext * φ * m[j] - αNext * B * 0.5 * D;
    }
    return out;
  }
}
