/**
 * Fits the latent → RGB preview map (preview.ts) for one model, by least squares.
 *
 * How the model converter uses it: it encodes solid colour patches (a grid of colours over the RGB
 * cube, greys included) with the model's own VAE encoder, normalises the latent as generation does
 * (z = (μ − mean) / std, docs/model-notes.md#latent-normalisation-and-the-frame-rule), and pairs each patch's latent vector (16 values, taken from
 * the patch's interior, away from edges) with the patch colour in 0…255. The fitted map is stored
 * with the converted model, so previews match that model's VAE rather than a hand-copied table.
 *
 * Maths: for every output channel c we want w_c ∈ R^16 and b_c minimising Σ_i (w_c·z_i + b_c − y_ic)².
 * With x_i = [z_i, 1] this is the normal equations (XᵀX) β_c = Xᵀy_c, one 17×17 system shared by
 * the three channels. A tiny ridge term λ·I on the 16 weight rows (not on the bias) keeps the system
 * solvable when the samples do not span all 16 latent directions (fewer than 17 colours, or a latent
 * channel that never varies); λ is scaled by the average diagonal, so it is equally tiny whatever
 * the latent's magnitude, and for well-spread samples it moves the answer by far less than 1e-6.
 * The system is solved by Gaussian elimination with partial pivoting in float64.
 */
import { LATENT_CHANNELS, type PreviewProjection } from "./preview.ts";

export type PreviewSample = { latent: number[]; rgb: number[] };

export type PreviewProjectionFit = PreviewProjection & {
  /** Root-mean-square error of the fit over all samples and channels, in 0…255 units. */
  rmsError: number;
};

export type FitOptions = {
  /** Relative ridge strength (default 1e-10 of the average diagonal of ZᵀZ). */
  ridge?: number;
};

/**
 * Solves A·X = B for a square A (n×n) and B (n×m) by Gaussian elimination with partial pivoting;
 * returns X (n×m). Overwrites `a` and `b`. Throws if A is singular.
 */
export function solveLinearSystem(a: number[][], b: number[][]): number[][] {
  const n = a.length;
  const m = b[0]?.length ?? 0;
  for (let col = 0; col < n; col++) {
    // Pivot on the largest remaining entry of this column: dividing by tiny pivots amplifies rounding.
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(a[row][col]) > Math.abs(a[pivot][col])) pivot = row;
    if (a[pivot][col] === 0 || !Number.isFinite(a[pivot][col])) {
      throw new RangeError(`solveLinearSystem: the matrix is singular (column ${col})`);
    }
    [a[col], a[pivot]] = [a[pivot], a[col]];
    [b[col], b[pivot]] = [b[pivot], b[col]];
    for (let row = col + 1; row < n; row++) {
      const factor = a[row][col] / a[col][col];
      if (factor === 0) continue;
      for (let k = col; k < n; k++) a[row][k] -= factor * a[col][k];
      for (let k = 0; k < m; k++) b[row][k] -= factor * b[col][k];
    }
  }
  const x = Array.from({ length: n }, () => new Array<number>(m).fill(0));
  for (let row = n - 1; row >= 0; row--) {
    for (let k = 0; k < m; k++) {
      let sum = b[row][k];
      for (let j = row + 1; j < n; j++) sum -= a[row][j] * x[j][k];
      x[row][k] = sum / a[row][row];
    }
  }
  return x;
}

export function fitPreviewProjection(samples: PreviewSample[], options: FitOptions = {}): PreviewProjectionFit {
  const { ridge = 1e-10 } = options;
  if (samples.length === 0) throw new RangeError("fitPreviewProjection: no samples");
  if (!(ridge >= 0)) throw new RangeError(`fitPreviewProjection: ridge must be ≥ 0, got ${ridge}`);
  const n = LATENT_CHANNELS + 1;
  samples.forEach((s, i) => {
    if (s.latent.length !== LATENT_CHANNELS || s.rgb.length !== 3) {
      throw new RangeError(
        `fitPreviewProjection: sample ${i} needs ${LATENT_CHANNELS} latent values and 3 rgb values, got ${s.latent.length} and ${s.rgb.length}`,
      );
    }
    if (![...s.latent, ...s.rgb].every(Number.isFinite)) throw new RangeError(`fitPreviewProjection: sample ${i} is not finite`);
  });

  // Accumulate XᵀX and XᵀY with x = [z_0 … z_15, 1].
  const xtx = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const xty = Array.from({ length: n }, () => new Array<number>(3).fill(0));
  for (const { latent, rgb } of samples) {
    const x = [...latent, 1];
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) xtx[i][j] += x[i] * x[j];
      for (let c = 0; c < 3; c++) xty[i][c] += x[i] * rgb[c];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) xtx[i][j] = xtx[j][i];

  let trace = 0;
  for (let k = 0; k < LATENT_CHANNELS; k++) trace += xtx[k][k];
  const lambda = ridge * (trace > 0 ? trace / LATENT_CHANNELS : 1);
  // With no variation at all the ridge alone keeps the system invertible (weights 0, bias = mean).
  for (let k = 0; k < LATENT_CHANNELS; k++) xtx[k][k] += lambda;

  const beta = solveLinearSystem(xtx, xty);
  const weights: number[] = [];
  for (let c = 0; c < 3; c++) for (let k = 0; k < LATENT_CHANNELS; k++) weights.push(beta[k][c]);
  const bias = [0, 1, 2].map((c) => beta[LATENT_CHANNELS][c]);

  let squared = 0;
  for (const { latent, rgb } of samples) {
    for (let c = 0; c < 3; c++) {
      let y = bias[c];
      for (let k = 0; k < LATENT_CHANNELS; k++) y += weights[c * LATENT_CHANNELS + k] * latent[k];
      squared += (y - rgb[c]) ** 2;
    }
  }
  return { weights, bias, rmsError: Math.sqrt(squared / (samples.length * 3)) };
}
