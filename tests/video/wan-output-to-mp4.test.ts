/**
 * The whole output path on a real Wan 2.1 output: the official pipeline's decoded video (fixture
 * `e2e_video`, [3, 9, 64, 64] in [-1, 1]) goes chunk by chunk (1, then 4, then 4 frames, as the VAE
 * decodes) through the official byte conversion into the streaming encoder, with settings embedded
 * and a poster from frame 0; reading the MP4 back must give the same frames within codec tolerance.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { SafetensorsFile } from "../../models/weights/safetensors.ts";
import { decodeVideoFrames } from "../../lib/video/decode.ts";
import { createMp4Encoder } from "../../lib/video/encoder.ts";
import { videoChunkToRgbFrames } from "../../lib/video/frames.ts";
import { readGenerationSettings, settingsToMp4Metadata } from "../../lib/video/metadata.ts";
import { writePoster } from "../../lib/video/poster.ts";
import { probeVideo } from "../../lib/video/probe.ts";
import { psnr } from "./synthetic-frames.ts";
import { fixture } from "../helpers/fixtures.ts";

const GOLDENS = fixture("goldens.safetensors");
const dir = mkdtempSync(path.join(os.tmpdir(), "video-wan-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Frames [start, start+count) of a [3, T, H, W] tensor as their own [3, count, H, W] tensor. */
function sliceFrames(video: Float32Array, T: number, plane: number, start: number, count: number): Float32Array {
  const out = new Float32Array(3 * count * plane);
  for (let c = 0; c < 3; c++) out.set(video.subarray((c * T + start) * plane, (c * T + start + count) * plane), c * count * plane);
  return out;
}

/** BT.709 luma of rgb24, as bytes. */
function luma(rgb: Uint8Array): Uint8Array {
  const y = new Uint8Array(rgb.length / 3);
  for (let i = 0; i < y.length; i++) y[i] = Math.round(0.2126 * rgb[3 * i] + 0.7152 * rgb[3 * i + 1] + 0.0722 * rgb[3 * i + 2]);
  return y;
}

describe("Wan output → MP4", () => {
  it("streams the official e2e video into an MP4 that decodes back to the same frames", async () => {
    const goldens = await SafetensorsFile.open(GOLDENS);
    let video: Float32Array;
    try {
      video = await goldens.readFloat32("e2e_video");
    } finally {
      await goldens.close();
    }
    const T = 9;
    const size = 64;
    const plane = size * size;
    const settings = { prompt: "测试：一只猫", seed: 42, steps: 10, shift: 5, guidance: 5, sampler: "unipc" };
    const file = path.join(dir, "wan.mp4");
    const encoder = createMp4Encoder({ file, width: size, height: size, metadata: settingsToMp4Metadata(settings) });
    const written: Uint8Array[] = [];
    for (const [start, count] of [
      [0, 1],
      [1, 4],
      [5, 4],
    ]) {
      const chunk = sliceFrames(video, T, plane, start, count);
      for (const rgb of videoChunkToRgbFrames(chunk, { frames: count, height: size, width: size })) {
        written.push(rgb);
        await encoder.writeFrame(rgb);
      }
    }
    const result = await encoder.finish();
    expect(result.frames).toBe(9);

    const poster = await writePoster(written[0], size, size, path.join(dir, "wan.webp"), { format: "webp" });
    expect((await sharp(poster.file).metadata()).width).toBe(size);

    expect(await probeVideo(file)).toMatchObject({ codec: "h264", width: 64, height: 64, frames: 9, fps: 16 });
    expect(await readGenerationSettings(file)).toEqual(settings);

    const decoded: Uint8Array[] = [];
    for await (const frame of decodeVideoFrames(file, { width: size, height: size, maxFrames: 100 })) decoded.push(frame);
    expect(decoded).toHaveLength(9);
    // The tiny model has random weights, so its output is saturated pixel-level colour noise: 4:2:0
    // chroma subsampling alone limits RGB PSNR to ~20 dB even at CRF 0 (measured), so quality is judged
    // on luma, which 4:2:0 keeps at full resolution. Measured luma PSNR: CRF 18 34–37 dB, CRF 0 47–53 dB;
    // a frame against its neighbour: 10–14 dB.
    for (let t = 0; t < 9; t++) {
      const own = psnr(luma(decoded[t]), luma(written[t]));
      expect(own).toBeGreaterThan(32);
      expect(psnr(decoded[t], written[t])).toBeGreaterThan(18);
      if (t > 0) expect(own).toBeGreaterThan(psnr(luma(decoded[t]), luma(written[t - 1])) + 15);
    }
  });
});
