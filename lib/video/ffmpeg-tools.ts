/**
 * Where the ffmpeg and ffprobe binaries are, and how their failures are reported. Every module in
 * lib/video runs the same binaries (FFMPEG_PATH / FFPROBE_PATH, the variables fluent-ffmpeg itself
 * reads, else the ones on PATH) and turns a failure into an error that carries ffmpeg's own last
 * stderr lines, because "exited with code 1" alone never tells anyone what went wrong.
 */
import { execFile } from "node:child_process";

export function ffmpegPath(): string {
  return process.env.FFMPEG_PATH || "ffmpeg";
}

export function ffprobePath(): string {
  return process.env.FFPROBE_PATH || "ffprobe";
}

/** An ffmpeg/ffprobe failure; `stderrTail` holds the tool's last stderr lines (also in the message). */
export class FfmpegError extends Error {
  constructor(
    message: string,
    readonly stderrTail: string,
  ) {
    super(stderrTail ? `${message}\nffmpeg said:\n${stderrTail}` : message);
    this.name = "FfmpegError";
  }
}

/** The last `count` non-empty lines of a tool's stderr, trimmed: the lines that name the cause. */
export function lastLines(text: string, count = 8): string {
  return text
    .split(/\r?\n|\r/)
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0)
    .slice(-count)
    .join("\n");
}

/**
 * Keeps only the end of a growing stderr stream, so a long encode cannot grow memory with log lines.
 * 16 kB easily holds the final lines, which are the ones that explain an exit.
 */
export class StderrTail {
  private text = "";
  constructor(private readonly maxChars = 16_384) {}
  push(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > this.maxChars * 2) this.text = this.text.slice(-this.maxChars);
  }
  lines(count = 8): string {
    return lastLines(this.text, count);
  }
}

/** Runs ffprobe with `-print_format json` and parses its answer. */
export async function runFfprobeJson(args: string[], file: string): Promise<unknown> {
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
    execFile(
      // A program on the PATH, not a project file: keep Next's output tracing out of it.
      /*turbopackIgnore: true*/ ffprobePath(),
      ["-v", "error", ...args, "-print_format", "json", file],
      { maxBuffer: 16 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error) {
          const why =
            (error as NodeJS.ErrnoException).code === "ENOENT"
              ? `ffprobe was not found (${ffprobePath()}); install ffmpeg or set FFPROBE_PATH`
              : `ffprobe failed on ${file}`;
          reject(new FfmpegError(why, lastLines(stderr)));
        } else {
          resolve({ stdout });
        }
      },
    );
  });
  try {
    return JSON.parse(stdout) as unknown;
  } catch {
    throw new FfmpegError(`ffprobe printed something that is not JSON for ${file}`, lastLines(stdout));
  }
}
