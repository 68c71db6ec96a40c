import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { fitPreviewProjection, solveLinearSystem, type PreviewSample } from "../../lib/video/preview-fit.ts";
import {
  encodePreviewWebp,
  latentToPreviewRgb,
  upscaleNearest,
  type PreviewProjection,
} from "../../lib/video/preview.ts";

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function knownProjection(rand: () => number): PreviewProjection {
  return {
    weights: Array.from({ length: 48 }, () => (rand() - 0.5) * 40),
    bias: [128 + (rand() - 0.5) * 20, 120 + (rand() - 0.5) * 20, 110 + (rand() - 0.5) * 20],
  };
}

function apply(p: PreviewProjection, z: number[]): number[] {
  return [0, 1, 2].map((c) => p.bias[c] + z.reduce((s, v, k) => s + p.weights[c * 16 + k] * v, 0));
}

describe("fitPreviewProjection", () => {
  it("recovers a known affine map from exact samples (error < 1e-6)", () => {
    const rand = random(7);
    const truth = knownProjection(rand);
    const samples: PreviewSample[] = Array.from({ length: 60 }, () => {
      // Latents with per-channel offsets and spreads like Wan's normalised z (roughly unit scale).
      const latent = Array.from({ length: 16 }, (_, k) => (rand() - 0.5) * 3 + (k % 3) * 0.2);
      return { latent, rgb: apply(truth, latent) };
    });
    const fit = fitPreviewProjection(samples);
    const maxError = Math.max(
      ...fit.weights.map((w, i) => Math.abs(w - truth.weights[i])),
      ...fit.bias.map((b, i) => Math.abs(b - truth.bias[i])),
    );
    expect(maxError).toBeLessThan(1e-6);
    expect(fit.rmsError).toBeLessThan(1e-6);
  });

  it("finds the least-squares answer under noise and stays solvable with too few samples", () => {
    const rand = random(11);
    const truth = knownProjection(rand);
    const noisy = Array.from({ length: 400 }, () => {
      const latent = Array.from({ length: 16 }, () => (rand() - 0.5) * 3);
      return { latent, rgb: apply(truth, latent).map((v) => v + (rand() - 0.5) * 2) };
    });
    const fit = fitPreviewProjection(noisy);
    // Uniform noise in ±1 has RMS 1/√3 ≈ 0.577; the fit cannot beat it by much nor miss it by much.
    expect(fit.rmsError).toBeGreaterThan(0.5);
    expect(fit.rmsError).toBeLessThan(0.6);
    expect(Math.max(...fit.weights.map((w, i) => Math.abs(w - truth.weights[i])))).toBeLessThan(0.1);

    // Eight colours (the cube's corners) cannot pin down 17 unknowns; the ridge keeps it solvable and
    // the eight samples are still reproduced.
    const few = noisy.slice(0, 8).map((s) => ({ latent: s.latent, rgb: apply(truth, s.latent) }));
    const underdetermined = fitPreviewProjection(few);
    expect(underdetermined.rmsError).toBeLessThan(1e-3);
    expect(() => fitPreviewProjection([])).toThrow(/no samples/);
    expect(() => fitPreviewProjection([{ latent: [1], rgb: [0, 0, 0] }])).toThrow(/16 latent values/);
  });

  it("solveLinearSystem pivots and solves exactly", () => {
    // The first pivot is zero: without a row exchange this would divide by 0. Solution (1, 2, 1):
    // 0+4+1 = 5, 1+2+1 = 4, 2+2+3 = 7.
    const x = solveLinearSystem(
      [
        [0, 2, 1],
        [1, 1, 1],
        [2, 1, 3],
      ],
      [[5], [4], [7]],
    );
    expect(x.map((row) => row[0])).toEqual([1, 2, 1].map((v) => expect.closeTo(v, 12)));
    expect(() =>
      solveLinearSystem(
        [
          [1, 2],
          [2, 4],
        ],
        [[1], [2]],
      ),
    ).toThrow(/singular/);
  });
});

describe("latentToPreviewRgb", () => {
  it("projects every latent pixel with W·z + b, rounds, and clamps to 0…255", () => {
    const rand = random(3);
    const projection = knownProjection(rand);
    const dims = { frames: 3, height: 5, width: 7 };
    const plane = dims.height * dims.width;
    const latent = new Float32Array(16 * dims.frames * plane).map(() => (rand() - 0.5) * 8);
    const frame = 2;
    const rgb = latentToPreviewRgb(latent, dims, frame, projection);
    expect(rgb.length).toBe(plane * 3);
    let clamped = 0;
    for (let p = 0; p < plane; p++) {
      const z = Array.from({ length: 16 }, (_, k) => latent[(k * dims.frames + frame) * plane + p]);
      const want = apply(projection, z).map((v) => Math.min(255, Math.max(0, Math.round(v))));
      if (apply(projection, z).some((v) => v < 0 || v > 255)) clamped++;
      expect([...rgb.subarray(p * 3, p * 3 + 3)]).toEqual(want);
    }
    expect(clamped).toBeGreaterThan(0); // the clamping path was exercised
    expect(() => latentToPreviewRgb(latent, dims, 3, projection)).toThrow(/outside/);
    expect(() => latentToPreviewRgb(latent, dims, 0, { weights: [1], bias: [0, 0, 0] })).toThrow(/3×16 weights/);
  });

  it("upscaleNearest turns each pixel into a block", () => {
    const up = upscaleNearest(new Uint8Array([1, 2, 3, 4, 5, 6]), 2, 1, 2);
    expect([...up]).toEqual([1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
  });
});

describe("encodePreviewWebp", () => {
  // A smooth latent, like a partly denoised sample: 21 latent frames of 60×104 (an 81-frame 832×480 video).
  const dims = { frames: 21, height: 60, width: 104 };
  const plane = dims.height * dims.width;
  const smooth = new Float32Array(16 * dims.frames * plane);
  for (let k = 0; k < 16; k++)
    for (let f = 0; f < dims.frames; f++)
      for (let y = 0; y < dims.height; y++)
        for (let x = 0; x < dims.width; x++) {
          smooth[((k * dims.frames + f) * dims.height + y) * dims.width + x] = Math.sin((x + f * 10) / 9 + k) * Math.cos(y / 7 - k);
        }
  const projection = knownProjection(random(5));

  it("makes an animated WebP of every latent frame, 4× enlarged, under 100 kB", async () => {
    const preview = await encodePreviewWebp(smooth, dims, projection);
    expect(preview).toMatchObject({ frames: 21, scale: 4, width: 416, height: 240 });
    expect(preview.data.length).toBeLessThanOrEqual(100_000);
    const meta = await sharp(preview.data, { animated: true }).metadata();
    expect(meta.format).toBe("webp");
    expect(meta.pages).toBe(21);
    expect([meta.width, meta.pageHeight]).toEqual([416, 240]);
    expect(meta.delay).toEqual(Array(21).fill(250));

    // Page 5 of the animation is the projected latent frame 5 (up to lossy coding), not its neighbour.
    const { data } = await sharp(preview.data, { page: 5 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const meanAbsDiff = (frame: number) => {
      const expected = upscaleNearest(latentToPreviewRgb(smooth, dims, frame, projection), 104, 60, 4);
      let diff = 0;
      for (let i = 0; i < expected.length; i++) diff += Math.abs(data[i] - expected[i]);
      return diff / expected.length;
    };
    expect(meanAbsDiff(5)).toBeLessThan(12);
    expect(meanAbsDiff(5)).toBeLessThan(meanAbsDiff(6) / 3);
  });

  it("makes a still WebP of one frame", async () => {
    const preview = await encodePreviewWebp(smooth, dims, projection, { frameIndex: 0, scale: 2 });
    const meta = await sharp(preview.data).metadata();
    expect([meta.width, meta.height, meta.pages ?? 1]).toEqual([208, 120, 1]);
  });

  it("stays within the byte budget for pure noise (the first sampling steps) by lowering quality and scale", async () => {
    const rand = random(9);
    const noise = new Float32Array(smooth.length).map(() => (rand() - 0.5) * 4);
    const preview = await encodePreviewWebp(noise, dims, projection);
    expect(preview.data.length).toBeLessThanOrEqual(100_000);
    expect(preview.scale).toBeLessThan(4);
    expect((await sharp(preview.data, { animated: true }).metadata()).pages).toBe(21);
  });
});
