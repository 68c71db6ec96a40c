/**
 * Continue a clip, on the video side: the last frame of a finished clip (what the next part starts
 * from) and the joined video of a chain.
 *
 * The join rule: a continuation's first frame is the model's rendering of the previous clip's last
 * frame (the conditioning image: image-to-video conditioning, or the held first frame of a
 * text-to-video model), so the joined video is every frame of the earlier part followed by every frame
 * of the continuation except its first. frames(joined) = frames(head) + frames(tail) − 1, and the join
 * frame appears once.
 *
 * The joined file is a new H.264 encode at the head's size and frame rate, with the same encoder as the
 * clips (lib/video/encoder.ts: yuv420p, BT.709, +faststart), published atomically. Re-encoding (rather
 * than copying the head's packets) costs one generation of CRF-18 loss on the head, each time a chain
 * grows; it keeps every joined file a plain single-encode MP4 that every browser plays.
 */
import sharp from "sharp";
import { writeFileAtomically } from "./atomic-file.ts";
import { decodeVideoFrames } from "./decode.ts";
import { createMp4Encoder, type EncodedVideo } from "./encoder.ts";
import { probeVideo } from "./probe.ts";

/** A cap on frames read from one file, far above any clip or chain the studio makes. */
const MAX_FRAMES = 1_000_000;

export type Frame = { rgb: Uint8Array; width: number; height: number };

/** The last frame of a video as rgb24 at the video's own size (the size the model rendered). */
export async function decodeLastFrame(file: string): Promise<Frame> {
  const { width, height } = await probeVideo(file);
  let last: Uint8Array | undefined;
  // Decoding to the end is exact however the container indexes its frames (seeking to the end is not),
  // and a clip is at most a few hundred frames.
  for await (const frame of decodeVideoFrames(file, { width, height, maxFrames: MAX_FRAMES })) last = frame;
  if (!last) throw new RangeError("the video has no frames to continue from");
  return { rgb: last, width, height };
}

/** Writes the last frame of `videoFile` as a lossless PNG at `pngFile` (atomically). */
export async function writeLastFramePng(videoFile: string, pngFile: string): Promise<Frame> {
  const frame = await decodeLastFrame(videoFile);
  const png = await sharp(frame.rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } }).png().toBuffer();
  await writeFileAtomically(pngFile, png);
  return frame;
}

export type JoinedVideo = EncodedVideo & { headFrames: number; tailFrames: number; width: number; height: number; fps: number };

/**
 * Writes `file`: all frames of `head`, then the frames of `tail` without its first (the join frame).
 * The tail is decoded at the head's size (a continuation renders at its previous part's size, so this is
 * a no-op in the studio). Both must play at the same frame rate.
 */
export async function joinClips(opts: { head: string; tail: string; file: string; metadata?: Record<string, string> }): Promise<JoinedVideo> {
  const [head, tail] = await Promise.all([probeVideo(opts.head), probeVideo(opts.tail)]);
  if (Math.abs(head.fps - tail.fps) > 1e-3) {
    throw new RangeError(`a continuation must play at its previous part's frame rate (${head.fps} fps), not ${tail.fps} fps`);
  }
  const { width, height, fps } = head;
  const encoder = createMp4Encoder({ file: opts.file, width, height, fps, metadata: opts.metadata });
  let headFrames = 0;
  let tailFrames = 0;
  try {
    for await (const frame of decodeVideoFrames(opts.head, { width, height, maxFrames: MAX_FRAMES })) {
      await encoder.writeFrame(frame);
      headFrames++;
    }
    for await (const frame of decodeVideoFrames(opts.tail, { width, height, maxFrames: MAX_FRAMES })) {
      // Frame 0 of the continuation is the join frame: the head already ends with it.
      if (tailFrames++ > 0) await encoder.writeFrame(frame);
    }
    if (headFrames === 0 || tailFrames === 0) throw new RangeError(`nothing to join: ${headFrames} + ${tailFrames} frames`);
    const encoded = await encoder.finish();
    return { ...encoded, headFrames, tailFrames, width, height, fps };
  } catch (error) {
    await encoder.abort();
    throw error;
  }
}
