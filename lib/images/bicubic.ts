/**
 * Bicubic resampling exactly as PyTorch's `F.interpolate(x, size=(h, w), mode="bicubic", align_corners=False)`
 * computes it (no antialiasing, also when shrinking), which is how Wan resizes images for CLIP and for the
 * image-to-video conditioning frame (official wan/modules/clip.py, CLIPModel.visual; official wan/image2video.py, WanI2V.generate):
 *   - source coordinate of output pixel i: (in/out)·(i + 0.5) − 0.5, not clamped (PyTorch's cubic path);
 *   - Keys' cubic convolution kernel with a = −0.75 on the 4 taps ⌊x⌋−1 … ⌊x⌋+2;
 *   - taps outside the image read the nearest edge pixel (index clamped);
 *   - rows are interpolated along x first, then those results along y.
 * Weights and sums are computed in float64 and rounded to float32 once, so results are within an ulp or two of
 * PyTorch's float32 arithmetic.
 */

const A = -0.75;

/** Keys' kernel for |x| ≤ 1. */
function cubic1(x: number): number {
  return ((A + 2) * x - (A + 3)) * x * x + 1;
}

/** Keys' kernel for 1 < |x| < 2. */
function cubic2(x: number): number {
  return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}

type Taps = { index: Int32Array; weight: Float64Array };

/** For each output position along one axis: its 4 source indices (clamped) and weights. */
function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const index = new Int32Array(outSize * 4);
  const weight = new Float64Array(outSize * 4);
  for (let i = 0; i < outSize; i++) {
    const real = scale * (i + 0.5) - 0.5;
    const base = Math.floor(real);
    const t = real - base;
    const w = [cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)];
    for (let k = 0; k < 4; k++) {
      index[i * 4 + k] = Math.min(Math.max(base - 1 + k, 0), inSize - 1);
      weight[i * 4 + k] = w[k];
    }
  }
  return { index, weight };
}

/** Resizes planar [channels, height, width] float data to [channels, outHeight, outWidth]. */
export function resizeBicubic(
  src: Float32Array,
  channels: number,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
): Float32Array {
  if (src.length !== channels * height * width) {
    throw new RangeError(`resizeBicubic: ${src.length} values are not [${channels}, ${height}, ${width}]`);
  }
  if (![height, width, outHeight, outWidth].every((n) => Number.isInteger(n) && n > 0)) {
    throw new RangeError(`resizeBicubic: bad size ${height}×${width} → ${outHeight}×${outWidth}`);
  }
  const xs = taps(width, outWidth);
  const ys = taps(height, outHeight);
  const out = new Float32Array(channels * outHeight * outWidth);
  const rows = new Float64Array(height * outWidth); // one channel interpolated along x
  for (let c = 0; c < channels; c++) {
    const plane = c * height * width;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < outWidth; x++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += xs.weight[x * 4 + k] * src[plane + y * width + xs.index[x * 4 + k]];
        rows[y * outWidth + x] = s;
      }
    }
    const outPlane = c * outHeight * outWidth;
    for (let y = 0; y < outHeight; y++) {
      for (let x = 0; x < outWidth; x++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += ys.weight[y * 4 + k] * rows[ys.index[y * 4 + k] * outWidth + x];
        out[outPlane + y * outWidth + x] = s;
      }
    }
  }
  return out;
}
