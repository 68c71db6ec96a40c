import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isPartialFile } from "../../lib/video/atomic-file.ts";
import { createMp4Encoder, VideoEncodeError } from "../../lib/video/encoder.ts";
import { readGenerationSettings, readMp4Metadata, settingsToMp4Metadata } from "../../lib/video/metadata.ts";
import { probeVideo } from "../../lib/video/probe.ts";
import { movingGradientFrame, topLevelBoxes } from "./synthetic-frames.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "video-encoder-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const W = 64;
const H = 48;

const settings = {
  prompt: "一只橘猫在雨中的东京街头漫步，霓虹灯倒映在水洼里 — a cat's \"walk\" 🐈\nsecond line",
  negativePrompt: "色调艳丽，过曝，静态",
  seed: 1234567890123,
  steps: 30,
  guidance: 5.5,
  shift: 8,
  sampler: "unipc",
  width: W,
  height: H,
  frames: 20,
  model: "Wan2.1-T2V-1.3B",
  loras: [{ name: "style", weight: 0.8 }],
  tiled: false,
};

async function encodeClip(file: string, frames: number, extra: Partial<Parameters<typeof createMp4Encoder>[0]> = {}) {
  const encoder = createMp4Encoder({ file, width: W, height: H, ...extra });
  for (let i = 0; i < frames; i++) await encoder.writeFrame(movingGradientFrame(W, H, i));
  return encoder.finish();
}

describe("createMp4Encoder", () => {
  it("writes an H.264/yuv420p MP4 at 16 fps with every frame, moov before mdat, settings embedded", async () => {
    const file = path.join(dir, "clip.mp4");
    const result = await encodeClip(file, 20, { metadata: settingsToMp4Metadata(settings) });

    expect(result.file).toBe(file);
    expect(result.frames).toBe(20);
    const bytes = readFileSync(file);
    expect(result.bytes).toBe(bytes.length);

    const probe = await probeVideo(file);
    expect(probe).toMatchObject({ codec: "h264", pixFmt: "yuv420p", width: W, height: H, frames: 20, fps: 16 });
    expect(probe.durationS).toBeCloseTo(20 / 16, 3);
    // Counting decoded frames must agree with the container's count.
    expect((await probeVideo(file, { countFrames: true })).frames).toBe(20);

    // Faststart: the index (moov) precedes the media data so playback can begin while downloading.
    const boxes = topLevelBoxes(bytes);
    expect(boxes[0]).toBe("ftyp");
    expect(boxes).toContain("moov");
    expect(boxes).toContain("mdat");
    expect(boxes.indexOf("moov")).toBeLessThan(boxes.indexOf("mdat"));

    const tags = await readMp4Metadata(file);
    expect(JSON.parse(tags.comment)).toEqual(settings);
    expect(tags.prompt).toBe(settings.prompt);
    expect(tags.negativePrompt).toBe(settings.negativePrompt);
    expect(tags.seed).toBe("1234567890123");
    expect(tags.guidance).toBe("5.5");
    expect(tags.tiled).toBe("false");
    expect(tags.loras).toBeUndefined(); // not a scalar: only in the JSON
    expect(await readGenerationSettings(file)).toEqual(settings);

    // Nothing but the finished file is left in the folder.
    expect(readdirSync(dir).filter((name) => name.startsWith(".clip."))).toEqual([]);
  });

  it("honours fps and passes tag values with spaces and '=' verbatim", async () => {
    const file = path.join(dir, "fps24.mp4");
    await encodeClip(file, 6, { fps: 24, crf: 23, preset: "veryfast", metadata: { title: "a b", note: "x=1 y = 2" } });
    const probe = await probeVideo(file);
    expect(probe.fps).toBe(24);
    expect(probe.frames).toBe(6);
    const tags = await readMp4Metadata(file);
    expect(tags.title).toBe("a b");
    expect(tags.note).toBe("x=1 y = 2");
    expect(await readGenerationSettings(file)).toBeUndefined();
  });

  it("rejects odd sizes with an error that explains why", () => {
    expect(() => createMp4Encoder({ file: path.join(dir, "odd.mp4"), width: 63, height: 48 })).toThrow(
      /width must be even for H\.264 with yuv420p.*63x48/,
    );
    expect(() => createMp4Encoder({ file: path.join(dir, "odd.mp4"), width: 64, height: 47 })).toThrow(/height must be even/);
    expect(() => createMp4Encoder({ file: path.join(dir, "bad.mp4"), width: 64, height: 48, crf: 60 })).toThrow(/crf/);
    expect(() =>
      createMp4Encoder({ file: path.join(dir, "bad.mp4"), width: 64, height: 48, metadata: { "bad=key": "x" } }),
    ).toThrow(/metadata key/);
  });

  it("rejects a frame of the wrong size", async () => {
    const encoder = createMp4Encoder({ file: path.join(dir, "wrong.mp4"), width: W, height: H });
    await expect(encoder.writeFrame(new Uint8Array(W * H * 3 - 1))).rejects.toThrow(/expected 9216 bytes/);
    await encoder.abort();
    expect(readdirSync(dir).filter((n) => n.includes("wrong"))).toEqual([]);
  });

  it("abort stops ffmpeg and leaves neither the video nor a partial file", async () => {
    const file = path.join(dir, "aborted.mp4");
    const encoder = createMp4Encoder({ file, width: W, height: H });
    for (let i = 0; i < 10; i++) await encoder.writeFrame(movingGradientFrame(W, H, i));
    await encoder.abort();
    await encoder.abort(); // idempotent
    expect(readdirSync(dir).filter((n) => n.includes("aborted"))).toEqual([]);
    await expect(encoder.writeFrame(movingGradientFrame(W, H, 0))).rejects.toThrow(/aborted/);
    await expect(encoder.finish()).rejects.toThrow(/aborted/);
  });

  it("abort while a write is waiting for ffmpeg releases the writer and cleans up", async () => {
    const file = path.join(dir, "blocked.mp4");
    const encoder = createMp4Encoder({ file, width: 640, height: 360, preset: "veryslow" });
    const frame = movingGradientFrame(640, 360, 0);
    await encoder.writeFrame(frame);
    const pending = encoder.writeFrame(frame); // waits for room: a whole frame fills our buffer
    const aborted = encoder.abort();
    await Promise.all([expect(pending).rejects.toThrow(/aborted/), aborted]);
    expect(readdirSync(dir).filter((n) => n.includes("blocked"))).toEqual([]);
  });

  it("abort right after creation (before ffmpeg has started) also cleans up", async () => {
    const file = path.join(dir, "early.mp4");
    const encoder = createMp4Encoder({ file, width: W, height: H });
    await encoder.abort();
    expect(readdirSync(dir).filter((n) => n.includes("early"))).toEqual([]);
  });

  it("finishing without frames fails and leaves nothing", async () => {
    const encoder = createMp4Encoder({ file: path.join(dir, "empty.mp4"), width: W, height: H });
    await expect(encoder.finish()).rejects.toThrow(/no frames/);
    expect(readdirSync(dir).filter((n) => n.includes("empty"))).toEqual([]);
  });

  it("a failing ffmpeg (output folder cannot be created) rejects with ffmpeg's own reason", async () => {
    // A regular file used as a folder: fails even for root, unlike permission bits.
    const notAFolder = path.join(dir, "not-a-folder");
    writeFileSync(notAFolder, "x");
    // Few frames: the failure surfaces in finish(); many: in writeFrame, while waiting for room.
    for (const frames of [1, 50]) {
      const encoder = createMp4Encoder({ file: path.join(notAFolder, "out.mp4"), width: W, height: H });
      let error: unknown;
      try {
        for (let i = 0; i < frames; i++) await encoder.writeFrame(movingGradientFrame(W, H, i));
        await encoder.finish();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(VideoEncodeError);
      const message = (error as VideoEncodeError).message;
      expect(message).toContain(`Encoding ${path.join(notAFolder, "out.mp4")} failed`);
      expect(message).toMatch(/Not a directory/);
      expect((error as VideoEncodeError).stderrTail).toMatch(/Not a directory/);
    }
  });

  it("keeps memory flat: writeFrame waits for ffmpeg, so at most one frame is buffered", async () => {
    const width = 640;
    const height = 360;
    const frameBytes = width * height * 3;
    const file = path.join(dir, "backpressure.mp4");
    const encoder = createMp4Encoder({ file, width, height, preset: "ultrafast" });
    // Frames made up front, so the producer is far faster than x264 and back-pressure must kick in.
    const source = [0, 1, 2, 3].map((i) => movingGradientFrame(width, height, i * 10));
    let maxPending = 0;
    let waited = 0;
    for (let i = 0; i < 48; i++) {
      const before = performance.now();
      await encoder.writeFrame(source[i % 4]);
      if (performance.now() - before > 2) waited++;
      maxPending = Math.max(maxPending, encoder.pendingBytes);
    }
    const { frames } = await encoder.finish();
    expect(frames).toBe(48);
    expect(maxPending).toBeLessThanOrEqual(frameBytes);
    // Without waiting, 48 frames would pile up in memory (32 MB here); with it, many writes waited.
    expect(waited).toBeGreaterThan(5);
    expect((await probeVideo(file)).frames).toBe(48);
  });

  it("recognises its temporary names as partial files", () => {
    expect(isPartialFile(".clip.0a1b2c3d.partial.mp4")).toBe(true);
    expect(isPartialFile("clip.mp4")).toBe(false);
  });
});
