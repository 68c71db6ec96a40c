import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeVideoFrames, VideoDecodeError } from "../../lib/video/decode.ts";
import { createMp4Encoder } from "../../lib/video/encoder.ts";
import { movingGradientFrame, psnr } from "./synthetic-frames.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "video-decode-"));
const clip = path.join(dir, "clip.mp4");
const W = 64;
const H = 48;
const N = 17;
const originals: Uint8Array[] = [];

beforeAll(async () => {
  const encoder = createMp4Encoder({ file: clip, width: W, height: H });
  for (let i = 0; i < N; i++) {
    originals.push(movingGradientFrame(W, H, i));
    await encoder.writeFrame(originals[i]);
  }
  await encoder.finish();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(iterable: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  for await (const frame of iterable) frames.push(frame);
  return frames;
}

describe("decodeVideoFrames", () => {
  it("round-trips an encoded clip: every frame, the size, pixels within codec tolerance", async () => {
    const frames = await collect(decodeVideoFrames(clip, { width: W, height: H, maxFrames: 1000 }));
    expect(frames).toHaveLength(N);
    let worst = Infinity;
    let maxAbs = 0;
    let sumAbs = 0;
    for (let i = 0; i < N; i++) {
      expect(frames[i].length).toBe(W * H * 3);
      worst = Math.min(worst, psnr(frames[i], originals[i]));
      for (let j = 0; j < frames[i].length; j++) {
        const d = Math.abs(frames[i][j] - originals[i][j]);
        sumAbs += d;
        maxAbs = Math.max(maxAbs, d);
      }
      // Each decoded frame is closest to its own original: frames are neither dropped nor reordered.
      if (i > 0) expect(psnr(frames[i], originals[i])).toBeGreaterThan(psnr(frames[i], originals[i - 1]));
    }
    // CRF 18 on smooth content: visually transparent (measured: worst 42.5 dB, mean 1.24, max 13).
    expect(worst).toBeGreaterThan(40);
    expect(sumAbs / (N * W * H * 3)).toBeLessThan(2);
    expect(maxAbs).toBeLessThan(24);
  });

  it("colour conversion is consistent both ways: a CRF 0 clip differs only by 4:2:0 and rounding", async () => {
    // Lossless H.264 leaves only RGB→Y'CbCr (BT.709, limited range) → RGB. A matrix mismatch between
    // encoder and decoder (BT.601 vs BT.709) would shift colours by 10+ levels. Measured: mean 0.44, max 5.
    const file = path.join(dir, "lossless.mp4");
    const encoder = createMp4Encoder({ file, width: W, height: H, crf: 0 });
    for (const frame of originals.slice(0, 4)) await encoder.writeFrame(frame);
    await encoder.finish();
    const frames = await collect(decodeVideoFrames(file, { width: W, height: H, maxFrames: 4 }));
    let sumAbs = 0;
    let maxAbs = 0;
    frames.forEach((frame, i) =>
      frame.forEach((v, j) => {
        const d = Math.abs(v - originals[i][j]);
        sumAbs += d;
        maxAbs = Math.max(maxAbs, d);
      }),
    );
    expect(sumAbs / (4 * W * H * 3)).toBeLessThan(1);
    expect(maxAbs).toBeLessThanOrEqual(8);
  });

  it("stops after maxFrames and scales to the requested size", async () => {
    const frames = await collect(decodeVideoFrames(clip, { width: 32, height: 24, maxFrames: 5 }));
    expect(frames).toHaveLength(5);
    expect(frames.every((f) => f.length === 32 * 24 * 3)).toBe(true);
    // The half-size frame 0 matches the original averaged over 2×2 blocks.
    const down = new Uint8Array(32 * 24 * 3);
    for (let y = 0; y < 24; y++)
      for (let x = 0; x < 32; x++)
        for (let c = 0; c < 3; c++) {
          const at = (yy: number, xx: number) => originals[0][(yy * W + xx) * 3 + c];
          down[(y * 32 + x) * 3 + c] = Math.round(
            (at(2 * y, 2 * x) + at(2 * y + 1, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x + 1)) / 4,
          );
        }
    expect(psnr(frames[0], down)).toBeGreaterThan(28);
  });

  it("resamples the frame rate and crops to cover", async () => {
    // 17 frames at 16 fps last 1.0625 s; at 8 fps that is 9 frames (ffmpeg's fps filter rounds to nearest).
    const halfRate = await collect(decodeVideoFrames(clip, { width: W, height: H, maxFrames: 100, fps: 8 }));
    expect(halfRate).toHaveLength(9);
    expect(psnr(halfRate[1], originals[2])).toBeGreaterThan(38);
    const square = await collect(decodeVideoFrames(clip, { width: 48, height: 48, maxFrames: 1, fit: "cover" }));
    // Cover: 64×48 → scaled to 64×48 (already covers 48×48), 8 columns cropped from each side.
    const cropped = new Uint8Array(48 * 48 * 3);
    for (let y = 0; y < 48; y++) cropped.set(originals[0].subarray((y * W + 8) * 3, (y * W + 56) * 3), y * 48 * 3);
    expect(psnr(square[0], cropped)).toBeGreaterThan(38);
  });

  it("an early break stops ffmpeg and the iterator", async () => {
    const iterator = decodeVideoFrames(clip, { width: W, height: H, maxFrames: 100 });
    let seen = 0;
    for await (const frame of iterator) {
      expect(frame.length).toBe(W * H * 3);
      if (++seen === 2) break;
    }
    expect(seen).toBe(2);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it("a missing or broken file fails with ffmpeg's reason", async () => {
    const missing = path.join(dir, "missing.mp4");
    const error = await collect(decodeVideoFrames(missing, { width: W, height: H, maxFrames: 3 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VideoDecodeError);
    expect((error as Error).message).toContain(`decoding ${missing} failed`);
    expect((error as VideoDecodeError).stderrTail).toMatch(/No such file or directory/);

    const junk = path.join(dir, "junk.mp4");
    writeFileSync(junk, "this is not a video");
    await expect(collect(decodeVideoFrames(junk, { width: W, height: H, maxFrames: 3 }))).rejects.toThrow(
      /Invalid data found when processing input/,
    );
    await expect(collect(decodeVideoFrames(clip, { width: 0, height: H, maxFrames: 3 }))).rejects.toThrow(/width/);
  });
});
