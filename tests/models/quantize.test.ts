import { describe, expect, it } from "vitest";
import { dequantizeBlockwise, quantizeBlockwise, QUANT_BLOCK } from "../../models/weights/quantize.ts";

describe("block-wise 8-bit weight quantization", () => {
  it("rounds each weight by at most half a step of its block's scale (max|w|/127)", () => {
    const N = 5;
    const K = 70; // not a multiple of the block: the last block of a row is partial
    const w = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 1.3) * (1 + (i % 7)));
    const q = quantizeBlockwise(w, N, K);
    expect(q.blocks).toBe(Math.ceil(K / QUANT_BLOCK));
    expect(q.blob.length).toBe(N * q.blocks * QUANT_BLOCK);
    const back = dequantizeBlockwise(q, N, K);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        const scale = q.scales[n * q.blocks + Math.floor(k / QUANT_BLOCK)];
        expect(Math.abs(back[n * K + k] - w[n * K + k])).toBeLessThanOrEqual(scale / 2 + 1e-7);
      }
    }
    // The extreme of each block is represented exactly (±127 steps).
    const firstBlockMax = Math.max(...Array.from(w.subarray(0, QUANT_BLOCK), Math.abs));
    expect(q.scales[0]).toBeCloseTo(firstBlockMax / 127, 7);
  });

  it("keeps an all-zero block at zero", () => {
    const q = quantizeBlockwise(new Float32Array(2 * 32), 2, 32);
    expect([...q.scales]).toEqual([0, 0]);
    expect([...dequantizeBlockwise(q, 2, 32)].every((v) => v === 0)).toBe(true);
  });
});
