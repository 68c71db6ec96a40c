/**
 * Wan's 3-D rotary position embedding and timestep sinusoid, computed in float64 outside the graph (as the
 * official code does) and fed to the DiT as float32 inputs (official wan/modules/model.py, sinusoidal_embedding_1d; official wan/modules/model.py, rope_apply and rope_params; docs/model-notes.md#onnx-notes).
 */

/** Pairs per axis for a head of width d: frame gets d/2 − 2·⌊d/6⌋, height and width ⌊d/6⌋ each (official wan/modules/model.py, rope_apply and rope_params). */
export function ropeAxisPairs(headDim: number): { frame: number; height: number; width: number } {
  const hw = Math.floor(headDim / 6);
  return { frame: headDim / 2 - 2 * hw, height: hw, width: hw };
}

/** ω_k = 10000^(−2k/dim) for k < dim/2 (the official `rope_params` for one axis of `dim` real dims). */
function axisFrequencies(pairs: number): Float64Array {
  const dim = 2 * pairs;
  const omega = new Float64Array(pairs);
  for (let k = 0; k < pairs; k++) omega[k] = 1 / Math.pow(10000, (2 * k) / dim);
  return omega;
}

/**
 * cos and sin tables [L, headDim/2] for the tokens of an F×H×W patch grid in the DiT's frame-major token
 * order (index = f·H·W + h·W + w). Pair j rotates with the frame index for j < a, the row index for
 * a ≤ j < a+b, the column index after that.
 */
export function ropeTables(frames: number, height: number, width: number, headDim: number): { cos: Float32Array; sin: Float32Array } {
  if (frames > 1024 || height > 1024 || width > 1024) throw new Error("RoPE positions are limited to 1024 per axis");
  const { frame, height: hp, width: wp } = ropeAxisPairs(headDim);
  const pairs = headDim / 2;
  const wf = axisFrequencies(frame);
  const wh = axisFrequencies(hp);
  const ww = axisFrequencies(wp);
  const L = frames * height * width;
  const cos = new Float32Array(L * pairs);
  const sin = new Float32Array(L * pairs);
  let row = 0;
  for (let f = 0; f < frames; f++) {
    for (let h = 0; h < height; h++) {
      for (let w = 0; w < width; w++, row++) {
        const base = row * pairs;
        let j = 0;
        for (let k = 0; k < frame; k++, j++) setAngle(cos, sin, base + j, f * wf[k]);
        for (let k = 0; k < hp; k++, j++) setAngle(cos, sin, base + j, h * wh[k]);
        for (let k = 0; k < wp; k++, j++) setAngle(cos, sin, base + j, w * ww[k]);
      }
    }
  }
  return { cos, sin };
}

function setAngle(cos: Float32Array, sin: Float32Array, i: number, angle: number): void {
  cos[i] = Math.cos(angle);
  sin[i] = Math.sin(angle);
}

/** The timestep sinusoid [cos(t·ω_k)…, sin(t·ω_k)…] with ω_k = 10000^(−k/half) — cos first (official wan/modules/model.py, sinusoidal_embedding_1d). */
export function timestepSinusoid(t: number, freqDim: number): Float32Array {
  const half = freqDim / 2;
  const out = new Float32Array(freqDim);
  for (let k = 0; k < half; k++) {
    const angle = t * Math.pow(10000, -k / half);
    out[k] = Math.cos(angle);
    out[half + k] = Math.sin(angle);
  }
  return out;
}
