/**
 * Streaming MP4 encoder: the engine hands over one rgb24 frame at a time as the VAE decodes them, and
 * ffmpeg (libx264, yuv420p) turns them into a browser-playable MP4 with the moov atom first
 * (`+faststart`, so playback starts before the whole file has arrived) and the generation settings
 * embedded as tags (see metadata.ts). Memory stays flat: `writeFrame` resolves only once ffmpeg's stdin
 * has room again, so at most about one frame waits in our buffer however long the video is.
 *
 * The file appears under its final name only when ffmpeg has finished successfully (temporary sibling
 * + rename, see atomic-file.ts); abort, or any ffmpeg failure, removes the temporary file.
 *
 * Colour: RGB → Y'CbCr uses the BT.709 matrix, limited range, and the stream is tagged BT.709, so
 * browsers and players (which guess BT.601 or BT.709 for untagged video, depending on the player)
 * all decode the same colours. The official Wan script (imageio-ffmpeg) leaves the stream untagged.
 */
import { stat, rename, rm } from "node:fs/promises";
import path from "node:path";
import { PassThrough } from "node:stream";
import ffmpeg from "fluent-ffmpeg";
import { temporarySiblingPath } from "./atomic-file.ts";
import { FfmpegError, ffmpegPath, lastLines } from "./ffmpeg-tools.ts";
import type { VideoSink } from "../engine/pipeline.ts";
import { settingsToMp4Metadata, validateMp4Metadata } from "./metadata.ts";
import { writePoster } from "./poster.ts";

/** Wan 2.1 generates at 16 fps (docs/model-notes.md#latent-normalisation-and-the-frame-rule, `sample_fps`). */
export const WAN_FPS = 16;

export const X264_PRESETS = [
  "ultrafast",
  "superfast",
  "veryfast",
  "faster",
  "fast",
  "medium",
  "slow",
  "slower",
  "veryslow",
] as const;
export type X264Preset = (typeof X264_PRESETS)[number];

export type Mp4EncoderOptions = {
  /** Final path of the MP4; its folder must exist. */
  file: string;
  width: number;
  height: number;
  fps?: number;
  /** x264 constant rate factor, 0 (lossless) … 51; 18 is visually transparent for most content. */
  crf?: number;
  preset?: X264Preset;
  /** Container tags, e.g. from `settingsToMp4Metadata`. */
  metadata?: Record<string, string>;
};

export type EncodedVideo = { file: string; frames: number; bytes: number };

export type Mp4Encoder = {
  /**
   * Queues one rgb24 frame (width·height·3 bytes, rows top to bottom, pixels R,G,B). The bytes are
   * copied, so the caller may reuse its buffer once the promise resolves; the promise waits while
   * ffmpeg is behind (back-pressure) and rejects when the encode has failed.
   */
  writeFrame(rgb: Uint8Array): Promise<void>;
  /** Ends the stream, waits for ffmpeg, and moves the file to its final name. */
  finish(): Promise<EncodedVideo>;
  /** Stops ffmpeg and removes the temporary file; safe to call at any time, more than once. */
  abort(): Promise<void>;
  /** Frames accepted so far. */
  readonly frames: number;
  /** Bytes waiting in our buffer for ffmpeg's stdin (for monitoring back-pressure). */
  readonly pendingBytes: number;
};

export class VideoEncodeError extends FfmpegError {
  constructor(message: string, stderrTail: string) {
    super(message, stderrTail);
    this.name = "VideoEncodeError";
  }
}

function validate(options: Mp4EncoderOptions): Required<Omit<Mp4EncoderOptions, "metadata">> {
  const { file, width, height, fps = WAN_FPS, crf = 18, preset = "medium" } = options;
  if (!file) throw new RangeError("createMp4Encoder: file is required");
  for (const [name, value] of [
    ["width", width],
    ["height", height],
  ] as const) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new RangeError(`createMp4Encoder: ${name} must be a positive integer, got ${value}`);
    }
    // yuv420p stores chroma at half resolution in both directions, so H.264 needs even sizes.
    if (value % 2 !== 0) {
      throw new RangeError(
        `createMp4Encoder: ${name} must be even for H.264 with yuv420p (chroma is subsampled 2×2), got ${width}x${height}`,
      );
    }
  }
  if (!Number.isFinite(fps) || fps <= 0 || fps > 240) {
    throw new RangeError(`createMp4Encoder: fps must be a number in (0, 240], got ${fps}`);
  }
  if (!Number.isInteger(crf) || crf < 0 || crf > 51) {
    throw new RangeError(`createMp4Encoder: crf must be an integer from 0 to 51, got ${crf}`);
  }
  if (!(X264_PRESETS as readonly string[]).includes(preset)) {
    throw new RangeError(`createMp4Encoder: preset must be one of ${X264_PRESETS.join(", ")}, got ${preset}`);
  }
  return { file, width, height, fps, crf, preset };
}

export function createMp4Encoder(options: Mp4EncoderOptions): Mp4Encoder {
  const { file, width, height, fps, crf, preset } = validate(options);
  const metadata = options.metadata ?? {};
  validateMp4Metadata(metadata);

  const frameBytes = width * height * 3;
  const temporary = temporarySiblingPath(file);
  // One frame of buffering: write() reports "full" as soon as a frame is waiting, and the next
  // writeFrame waits for 'drain'. The OS pipe to ffmpeg holds another 64 kB.
  const input = new PassThrough({ highWaterMark: frameBytes });

  const metadataArgs = Object.entries(metadata).flatMap(([key, value]) => ["-metadata", `${key}=${value}`]);
  const command = ffmpeg({ source: input, stdoutLines: 40 })
    .setFfmpegPath(ffmpegPath())
    .inputFormat("rawvideo")
    // Several arguments in one call: fluent-ffmpeg then passes each one verbatim (a single string
    // with one space would be split in two, which would break tag values).
    // Only warnings and errors on stderr, so the lines we quote on failure are the ones that matter.
    .inputOptions(
      "-hide_banner",
      "-loglevel",
      "warning",
      "-pix_fmt",
      "rgb24",
      "-video_size",
      `${width}x${height}`,
      "-framerate",
      String(fps),
    )
    .noAudio()
    .videoCodec("libx264")
    .outputOptions(
      "-vf",
      "scale=out_color_matrix=bt709:out_range=tv:flags=bicubic+accurate_rnd+full_chroma_int,format=yuv420p",
      "-pix_fmt",
      "yuv420p",
      "-colorspace",
      "bt709",
      "-color_primaries",
      "bt709",
      "-color_trc",
      "bt709",
      "-color_range",
      "tv",
      "-preset",
      preset,
      "-crf",
      String(crf),
      "-r",
      String(fps),
      "-movflags",
      "+faststart+use_metadata_tags",
      ...metadataArgs,
    )
    .format("mp4")
    .output(temporary);

  let frames = 0;
  let state: "open" | "finishing" | "finished" | "aborted" = "open";
  let aborting = false;
  let failure: VideoEncodeError | undefined;
  // Set while a writeFrame waits for 'drain'; a failing ffmpeg calls it so the writer never hangs.
  let wakeWriter: (() => void) | undefined;

  const done = new Promise<void>((resolve, reject) => {
    command.on("start", () => {
      // abort() may have come before fluent-ffmpeg had spawned the process; stop it now.
      if (aborting) command.kill("SIGKILL");
    });
    command.on("end", () => resolve());
    command.on("error", (error: Error, _stdout: string | null, stderr: string | null) => {
      failure = aborting
        ? new VideoEncodeError(`Encoding ${file} was aborted`, "")
        : new VideoEncodeError(`Encoding ${file} failed: ${error.message.split("\n")[0]}`, lastLines(stderr ?? ""));
      reject(failure);
      wakeWriter?.();
    });
  });
  // Failures are reported through writeFrame/finish; this keeps Node from calling them unhandled.
  done.catch(() => {});

  /** Resolves when the buffered frame has gone into ffmpeg's stdin, or when ffmpeg has failed. */
  function roomOrFailure(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        input.off("drain", wake);
        wakeWriter = undefined;
        resolve();
      };
      input.once("drain", wake);
      wakeWriter = wake;
    });
  }

  command.run();

  // Clean-up must never hide the error that made it necessary (e.g. ENOTDIR when the folder is bad).
  async function removeTemporary(): Promise<void> {
    await rm(temporary, { force: true }).catch(() => {});
  }

  return {
    get frames() {
      return frames;
    },
    get pendingBytes() {
      return input.writableLength;
    },

    async writeFrame(rgb: Uint8Array): Promise<void> {
      if (state === "aborted") throw new Error(`writeFrame: the encoder for ${file} was aborted`);
      if (failure) throw failure;
      if (state !== "open") throw new Error(`writeFrame: the encoder for ${file} is already ${state}`);
      if (rgb.byteLength !== frameBytes) {
        throw new RangeError(
          `writeFrame: expected ${frameBytes} bytes (${width}x${height} rgb24), got ${rgb.byteLength}`,
        );
      }
      frames++;
      // Buffer.from(Uint8Array) copies: the stream keeps the chunk until ffmpeg has read it.
      if (!input.write(Buffer.from(rgb))) {
        await roomOrFailure();
        if (aborting) throw new Error(`writeFrame: the encoder for ${file} was aborted`);
        if (failure) throw failure;
      }
    },

    async finish(): Promise<EncodedVideo> {
      if (failure) {
        await removeTemporary();
        throw failure;
      }
      if (state !== "open") throw new Error(`finish: the encoder for ${file} is already ${state}`);
      if (frames === 0) {
        await this.abort();
        throw new Error(`finish: no frames were written to ${file}`);
      }
      state = "finishing";
      input.end();
      try {
        await done;
        // abort() during finish() wins: the video must not appear.
        if (aborting) throw new Error(`finish: the encoder for ${file} was aborted`);
        const { size } = await stat(temporary);
        await rename(temporary, file);
        state = "finished";
        return { file, frames, bytes: size };
      } catch (error) {
        if (state === "finishing") state = "aborted";
        await removeTemporary();
        throw error;
      }
    },

    async abort(): Promise<void> {
      if (state === "finished" || state === "aborted") return;
      state = "aborted";
      aborting = true;
      // Ending stdin as well guarantees ffmpeg exits even if the kill lands before it was spawned.
      input.end();
      command.kill("SIGKILL");
      await done.catch(() => {});
      await removeTemporary();
    },
  };
}

/**
 * The engine's video sink (lib/engine/pipeline.ts `VideoSink`) for a job folder: the frames become
 * `dir/video.mp4` with the generation settings embedded as tags, and the first frame `dir/poster.jpg`
 * (or the names given: the worker gives each attempt its own, lib/storage/storage.ts attemptFiles).
 */
export function mp4FileSink(dir: string, names: { video: string; poster: string } = { video: "video.mp4", poster: "poster.jpg" }): VideoSink {
  const videoFile = path.join(dir, names.video);
  const posterFile = path.join(dir, names.poster);
  let encoder: Mp4Encoder | undefined;
  let size = { width: 0, height: 0 };
  let posterWritten = false;
  return {
    async open({ width, height, fps, settings }) {
      size = { width, height };
      encoder = createMp4Encoder({ file: videoFile, width, height, fps, metadata: settingsToMp4Metadata(settings) });
    },
    async write(rgb) {
      if (!encoder) throw new Error("mp4FileSink: write before open");
      if (!posterWritten) {
        await writePoster(rgb, size.width, size.height, posterFile, { format: "jpeg" });
        posterWritten = true;
      }
      await encoder.writeFrame(rgb);
    },
    async finish() {
      if (!encoder) throw new Error("mp4FileSink: finish before open");
      await encoder.finish();
      return { videoFile, posterFile };
    },
    async abort() {
      await encoder?.abort();
    },
  };
}
