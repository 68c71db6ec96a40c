/**
 * The join rule of a chain with real ffmpeg: the last frame a continuation starts from, and the joined
 * video = every frame of the head + the tail without its first frame (the join frame), in order, at the
 * head's size and rate, published atomically.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeVideoFrames } from "../../lib/video/decode.ts";
import { createMp4Encoder } from "../../lib/video/encoder.ts";
import { decodeLastFrame, joinClips, writeLastFramePng } from "../../lib/video/join.ts";
import { probeVideo } from "../../lib/video/probe.ts";
import { movingGradientFrame, psnr } from "./synthetic-frames.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "video-join-"));
const W = 64;
const H = 48;
const HEAD = 9;
const TAIL = 13;
// Far-apart wave positions, so neighbouring frames are clearly different pictures.
const headFrames = Array.from({ length: HEAD }, (_, i) => movingGradientFrame(W, H, 5 * i));
// The continuation starts on the head's last picture (its join frame), then moves on.
const tailFrames = [headFrames[HEAD - 1], ...Array.from({ length: TAIL - 1 }, (_, i) => movingGradientFrame(W, H, 5 * (HEAD + i) + 2))];
const head = path.join(dir, "head.mp4");
const tail = path.join(dir, "tail.mp4");

async function encode(file: string, frames: Uint8Array[], fps?: number): Promise<void> {
  const encoder = createMp4Encoder({ file, width: W, height: H, fps });
  for (const f of frames) await encoder.writeFrame(f);
  await encoder.finish();
}

async function decodeAll(file: string): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  for await (const f of decodeVideoFrames(file, { width: W, height: H, maxFrames: 10_000 })) frames.push(f);
  return frames;
}

/** The index of the candidate closest to `f` (highest PSNR). */
function nearest(f: Uint8Array, candidates: Uint8Array[]): number {
  let best = -1;
  let bestPsnr = -Infinity;
  candidates.forEach((c, i) => {
    const p = psnr(f, c);
    if (p > bestPsnr) [best, bestPsnr] = [i, p];
  });
  return best;
}

beforeAll(async () => {
  await encode(head, headFrames);
  await encode(tail, tailFrames);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the last frame of a clip", () => {
  it("is the clip's final picture at the clip's own size", async () => {
    const last = await decodeLastFrame(head);
    expect([last.width, last.height]).toEqual([W, H]);
    expect(psnr(last.rgb, headFrames[HEAD - 1])).toBeGreaterThan(35);
    expect(nearest(last.rgb, headFrames)).toBe(HEAD - 1);
  });

  it("is written as a lossless PNG of that size", async () => {
    const png = path.join(dir, "start.png");
    const last = await writeLastFramePng(head, png);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels, info.format]).toEqual([W, H, 3, "raw"]);
    expect(Buffer.compare(data, Buffer.from(last.rgb))).toBe(0);
  });
});

describe("joinClips", () => {
  it("writes head + tail − 1 frames: the head in order, then the tail after its join frame, never repeating it", async () => {
    const joined = path.join(dir, "joined.mp4");
    const result = await joinClips({ head, tail, file: joined });
    expect(result).toMatchObject({ headFrames: HEAD, tailFrames: TAIL, frames: HEAD + TAIL - 1, width: W, height: H, fps: 16 });

    const probe = await probeVideo(joined, { countFrames: true });
    expect(probe).toMatchObject({ codec: "h264", width: W, height: H, frames: HEAD + TAIL - 1, fps: 16, pixFmt: "yuv420p" });

    const decoded = await decodeAll(joined);
    const [headDecoded, tailDecoded] = [await decodeAll(head), await decodeAll(tail)];
    const expected = [...headDecoded, ...tailDecoded.slice(1)];
    expect(decoded).toHaveLength(expected.length);
    // Every joined frame is closest to the frame the rule puts there (so none is dropped, repeated or
    // reordered), and close to it in absolute terms (one more CRF-18 generation).
    decoded.forEach((f, i) => {
      expect(nearest(f, expected), `joined frame ${i}`).toBe(i);
      expect(psnr(f, expected[i]), `joined frame ${i}`).toBeGreaterThan(35);
    });
    // At the join: the head's last frame, then the continuation's second frame — not its first (a
    // copy of the join frame) again.
    expect(psnr(decoded[HEAD - 1], headDecoded[HEAD - 1])).toBeGreaterThan(35);
    expect(psnr(decoded[HEAD], tailDecoded[1])).toBeGreaterThan(35);
    expect(psnr(decoded[HEAD], decoded[HEAD - 1])).toBeLessThan(25);
  });

  it("joins a joined video again (a chain of three parts)", async () => {
    const two = path.join(dir, "two.mp4");
    const three = path.join(dir, "three.mp4");
    await joinClips({ head, tail, file: two });
    const result = await joinClips({ head: two, tail, file: three });
    expect(result.frames).toBe(HEAD + 2 * (TAIL - 1));
    expect((await probeVideo(three, { countFrames: true })).frames).toBe(HEAD + 2 * (TAIL - 1));
  });

  it("refuses clips at different frame rates and leaves no file behind", async () => {
    const other = path.join(dir, "other-rate.mp4");
    await encode(other, tailFrames, 24);
    const target = path.join(dir, "refused.mp4");
    await expect(joinClips({ head, tail: other, file: target })).rejects.toThrow(/frame rate \(16 fps\), not 24 fps/);
    expect(readdirSync(dir).filter((f) => f.includes("refused"))).toEqual([]);
  });
});
