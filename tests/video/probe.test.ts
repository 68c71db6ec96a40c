import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMp4Encoder } from "../../lib/video/encoder.ts";
import { FfmpegError, ffmpegPath } from "../../lib/video/ffmpeg-tools.ts";
import { parseFrameRate, probeVideo } from "../../lib/video/probe.ts";
import { movingGradientFrame } from "./synthetic-frames.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "video-probe-"));
const clip = path.join(dir, "clip.mp4");
const W = 64;
const H = 48;
const N = 13;

beforeAll(async () => {
  const encoder = createMp4Encoder({ file: clip, width: W, height: H, preset: "veryfast" });
  for (let i = 0; i < N; i++) await encoder.writeFrame(movingGradientFrame(W, H, i));
  await encoder.finish();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("probeVideo", () => {
  it("reports codec, size, frames, fps, duration and pixel format", async () => {
    const probe = await probeVideo(clip);
    expect(probe).toEqual({
      codec: "h264",
      width: W,
      height: H,
      frames: N,
      fps: 16,
      durationS: expect.closeTo(N / 16, 3),
      pixFmt: "yuv420p",
      formatName: "mov,mp4,m4a,3gp,3g2,mj2",
    });
  });

  it("counts frames itself when the container has no count (WebM)", async () => {
    // Matroska/WebM carries no per-stream frame count, so nb_frames is absent and probing decodes.
    const webm = path.join(dir, "clip.webm");
    execFileSync(ffmpegPath(), ["-v", "error", "-i", clip, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-y", webm]);
    const probe = await probeVideo(webm);
    expect(probe).toMatchObject({ codec: "vp9", width: W, height: H, frames: N, fps: 16 });
  });

  it("rejects a file that is not a video", async () => {
    const text = path.join(dir, "notes.txt");
    writeFileSync(text, "hello");
    await expect(probeVideo(text)).rejects.toBeInstanceOf(FfmpegError);
    await expect(probeVideo(text)).rejects.toThrow(/ffprobe failed on .*notes\.txt[\s\S]*Invalid data/);
  });

  it("parses frame rates", () => {
    expect(parseFrameRate("16/1")).toBe(16);
    expect(parseFrameRate("30000/1001")).toBeCloseTo(29.97, 2);
    expect(parseFrameRate("0/0")).toBeUndefined();
    expect(parseFrameRate(undefined)).toBeUndefined();
  });
});
