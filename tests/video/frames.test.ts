import { describe, expect, it } from "vitest";
import { SafetensorsFile } from "../../models/weights/safetensors.ts";
import { pixelToByte, videoChunkToRgbFrames, videoFrameToRgb } from "../../lib/video/frames.ts";
import { fixture } from "../helpers/fixtures.ts";

// Goldens from the official Wan 2.1 code (fixtures README); WAN_TINY_FIXTURES points elsewhere if needed.
const GOLDENS = fixture("goldens.safetensors");

describe("pixelToByte: official Wan conversion, (clamp(x,-1,1)+1)/2*255 in float32, truncated", () => {
  // Each expected value is worked out by hand in float32:
  it.each([
    [-1, 0],
    [1, 255],
    [0, 127], // 0.5·255 = 127.5 → 127 (rounding would give 128)
    [0.5, 191], // 0.75·255 = 191.25
    [-0.5, 63], // 0.25·255 = 63.75 → 63 (rounding: 64)
    [2, 255], // clamped to 1
    [-3, 0], // clamped to -1
    // f32(-0.6) = -0.60000002384; +1 = 0.39999997616 (exact in f32); /2 = 0.19999998808;
    // ·255 = 50.99999618 → 50, although the real-number result is exactly 51.
    [-0.6, 50],
    // f32(0.2) = 0.20000000298; +1 rounds to 1.2000000477; /2 = 0.60000002384; ·255 = 153.00000608 → f32 153.0.
    [0.2, 153],
    // The largest float below 1: 0.99999994 + 1 rounds to 2 in f32, so 255.
    [0.99999994, 255],
    // -1 + 2/255 = -0.99215686: (x+1)/2·255 = 0.99999994 in f32 → 0 (rounding: 1).
    [-1 + 2 / 255, 0],
    [1 / 255, 128], // (1 + 1/255)/2·255 = 128.0 exactly
    [Number.NaN, 0],
  ])("%f → %i", (x, expected) => {
    expect(pixelToByte(Math.fround(x))).toBe(expected);
  });
});

describe("videoFrameToRgb", () => {
  it("reads one frame of a channel-major [3,T,H,W] tensor into interleaved rgb24", () => {
    const T = 2;
    const H = 2;
    const W = 3;
    const video = new Float32Array(3 * T * H * W);
    // Value encodes (c, t, y, x) so a misplaced read is visible: x in [-1, 1] from a distinct byte.
    const byteOf = (c: number, t: number, y: number, x: number) => 10 + c * 80 + t * 30 + y * 9 + x * 2;
    for (let c = 0; c < 3; c++)
      for (let t = 0; t < T; t++)
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) {
            // (b + 0.5)/255·2 − 1 lies inside byte b's bucket, so truncation gives back b.
            video[((c * T + t) * H + y) * W + x] = ((byteOf(c, t, y, x) + 0.5) / 255) * 2 - 1;
          }
    const rgb = videoFrameToRgb(video, { frames: T, height: H, width: W }, 1);
    const expected: number[] = [];
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) expected.push(byteOf(c, 1, y, x));
    expect([...rgb]).toEqual(expected);
  });

  it("rejects a wrong shape or frame index", () => {
    const video = new Float32Array(3 * 2 * 2 * 2);
    expect(() => videoFrameToRgb(video, { frames: 2, height: 2, width: 3 }, 0)).toThrow(/has 36 values, got 24/);
    expect(() => videoFrameToRgb(video, { frames: 2, height: 2, width: 2 }, 2)).toThrow(/outside 0…1/);
  });

  it("per-chunk conversion of the official VAE decoder outputs equals converting the whole clamped video", async () => {
    // vae_decA: the official decoder's chunks (1 frame, then 4 and 4; unclamped) and the final video
    // (clamped to [-1, 1]) for 9 frames of 32×32. The conversion clamps itself, so converting chunk by
    // chunk, as the engine will, must give the same bytes as the official whole-video path.
    const goldens = await SafetensorsFile.open(GOLDENS);
    const dims = { height: 32, width: 32 };
    const fromChunks: Uint8Array[] = [];
    let whole: Float32Array;
    let unclamped: Float32Array;
    try {
      whole = await goldens.readFloat32("vae_decA_video");
      unclamped = await goldens.readFloat32("vae_decA_video_unclamped");
      for (const [name, frames] of [
        ["vae_decA_chunk0_decoder_out", 1],
        ["vae_decA_chunk1_decoder_out", 4],
        ["vae_decA_chunk2_decoder_out", 4],
      ] as const) {
        fromChunks.push(...videoChunkToRgbFrames(await goldens.readFloat32(name), { ...dims, frames }));
      }
    } finally {
      await goldens.close();
    }
    expect(fromChunks).toHaveLength(9);
    let outOfRange = 0;
    for (const v of unclamped) if (v < -1 || v > 1) outOfRange++;
    for (let t = 0; t < 9; t++) {
      expect(fromChunks[t]).toEqual(videoFrameToRgb(whole, { ...dims, frames: 9 }, t));
    }
    // The check means something only if some values really needed clamping.
    expect(outOfRange).toBeGreaterThan(0);
  });
});
