/**
 * What a video file is, according to ffprobe: codec, size, frame count, frame rate, duration, pixel
 * format. Tests use it to check what the encoder produced; upload validation (video-to-video) uses
 * it to refuse files before any decoding work starts.
 */
import { FfmpegError, runFfprobeJson } from "./ffmpeg-tools.ts";

export type VideoProbe = {
  codec: string;
  width: number;
  height: number;
  /** Frames in the first video stream: the container's count, or frames actually decoded (see options). */
  frames: number;
  fps: number;
  durationS: number;
  pixFmt: string;
  /** ffprobe's container name, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  formatName: string;
};

export type ProbeOptions = {
  /**
   * Decode the whole stream to count frames (`-count_frames`) instead of trusting the container's
   * `nb_frames`. Slower, but an uploaded file's header can claim anything. Also used automatically
   * when the container has no frame count (e.g. Matroska, WebM).
   */
  countFrames?: boolean;
};

type ProbeStream = {
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  nb_read_frames?: string;
  duration?: string;
};
type ProbeJson = { streams?: ProbeStream[]; format?: { duration?: string; format_name?: string } };

/** "30000/1001" → 29.97…; undefined for "0/0" or anything unparsable. */
export function parseFrameRate(rate: string | undefined): number | undefined {
  if (!rate) return undefined;
  const [num, den = "1"] = rate.split("/");
  const value = Number(num) / Number(den);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

function nonNegativeInteger(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined;
}

async function probeStream(file: string, countFrames: boolean): Promise<ProbeJson> {
  return (await runFfprobeJson(
    [
      "-select_streams",
      "v:0",
      ...(countFrames ? ["-count_frames"] : []),
      "-show_entries",
      "stream=codec_name,width,height,pix_fmt,r_frame_rate,avg_frame_rate,nb_frames,nb_read_frames,duration:format=duration,format_name",
    ],
    file,
  )) as ProbeJson;
}

export async function probeVideo(file: string, options: ProbeOptions = {}): Promise<VideoProbe> {
  let json = await probeStream(file, options.countFrames ?? false);
  let stream = json.streams?.[0];
  if (!stream) throw new FfmpegError(`${file} has no video stream`, "");
  let frames = options.countFrames ? nonNegativeInteger(stream.nb_read_frames) : nonNegativeInteger(stream.nb_frames);
  if (frames === undefined && !options.countFrames) {
    json = await probeStream(file, true);
    stream = json.streams?.[0] ?? stream;
    frames = nonNegativeInteger(stream.nb_read_frames);
  }
  // The average rate is what a variable-rate upload really plays at; r_frame_rate is the base rate.
  const fps = parseFrameRate(stream.avg_frame_rate) ?? parseFrameRate(stream.r_frame_rate);
  const duration = Number(json.format?.duration ?? stream.duration);
  if (!stream.codec_name || !stream.width || !stream.height || frames === undefined || fps === undefined) {
    throw new FfmpegError(`ffprobe could not tell the codec, size, frame count and frame rate of ${file}`, "");
  }
  return {
    codec: stream.codec_name,
    width: stream.width,
    height: stream.height,
    frames,
    fps,
    durationS: Number.isFinite(duration) ? duration : frames / fps,
    pixFmt: stream.pix_fmt ?? "unknown",
    formatName: json.format?.format_name ?? "unknown",
  };
}
