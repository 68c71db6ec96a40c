/**
 * Block-wise weight-only quantization for com.microsoft.MatMulNBits (8 bits): each run of `block` input
 * features of an output row shares one float32 scale; values are stored as unsigned bytes around the
 * implicit zero point 2^(bits−1) = 128, q = round(w / scale) + 128 with scale = max|w| / 127 over the block.
 * Weight-only: activations, norms and the residual stream stay float32, so the error is the weights'
 * rounding alone (|Δw| ≤ scale/2 ≈ max|w|/254 per block).
 */

export const QUANT_BITS = 8;
export const QUANT_BLOCK = 32;

export type QuantizedWeight = {
  /** [N, ⌈K/block⌉, block] bytes (the last block of a row zero-padded). */
  blob: Uint8Array;
  /** [N · ⌈K/block⌉] scales. */
  scales: Float32Array;
  blocks: number;
};

/** Quantizes a PyTorch Linear weight [N = out, K = in] row-major (float32 values). */
export function quantizeBlockwise(w: Float32Array, N: number, K: number, block = QUANT_BLOCK): QuantizedWeight {
  if (w.length !== N * K) throw new RangeError(`quantizeBlockwise: ${w.length} values are not [${N}, ${K}]`);
  const blocks = Math.ceil(K / block);
  const blob = new Uint8Array(N * blocks * block).fill(128);
  const scales = new Float32Array(N * blocks);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      const start = n * K + b * block;
      const end = n * K + Math.min(K, (b + 1) * block);
      let max = 0;
      for (let i = start; i < end; i++) max = Math.max(max, Math.abs(w[i]));
      const scale = max / 127;
      scales[n * blocks + b] = scale;
      if (scale === 0) continue;
      const out = (n * blocks + b) * block;
      for (let i = start; i < end; i++) blob[out + (i - start)] = Math.max(0, Math.min(255, Math.round(w[i] / scale) + 128));
    }
  }
  return { blob, scales, blocks };
}

/** The float32 weight [N, K] a quantized one stands for (for tests and error estimates). */
export function dequantizeBlockwise(q: QuantizedWeight, N: number, K: number, block = QUANT_BLOCK): Float32Array {
  const w = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / block);
      w[n * K + k] = (q.blob[(n * q.blocks + b) * block + (k % block)] - 128) * q.scales[n * q.blocks + b];
    }
  }
  return w;
}
