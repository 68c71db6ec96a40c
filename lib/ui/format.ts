/**
 * Human labels for what the studio shows: aspect ratios, durations, ETAs, timings, dates. Pure functions,
 * used by server and client components alike, so the same number always reads the same way.
 */
import { framesForSeconds, validFramesWithin, videoFrameCount, type ImageFit, type Solver, type Speed } from "../schemas/generation.ts";
import type { GenerationPhase } from "../schemas/job-vocabulary.ts";

/** Ratios people recognise; a size is named after the nearest one when it is close enough. */
const COMMON_RATIOS: [number, number][] = [
  [1, 1],
  [5, 4],
  [4, 3],
  [3, 2],
  [5, 3],
  [16, 9],
  [2, 1],
  [21, 9],
];

/** How far (relative) a size may be from a common ratio and still carry its name. */
const RATIO_TOLERANCE = 0.04;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The aspect ratio of a size as people say it: "16:9" for 832×480 (1.733, within 4 % of 16/9), "9:16"
 * for the portrait twin, the exact reduced fraction when no common ratio is close (e.g. "7:2").
 */
export function aspectRatioName(width: number, height: number): string {
  if (!(width > 0 && height > 0)) throw new RangeError(`size must be positive (got ${width}×${height})`);
  const landscape = width >= height;
  const r = landscape ? width / height : height / width;
  let best: [number, number] | undefined;
  let bestErr = Infinity;
  for (const [a, b] of COMMON_RATIOS) {
    const err = Math.abs(r - a / b) / (a / b);
    if (err < bestErr) {
      best = [a, b];
      bestErr = err;
    }
  }
  if (best && bestErr <= RATIO_TOLERANCE) return landscape ? `${best[0]}:${best[1]}` : `${best[1]}:${best[0]}`;
  const g = gcd(Math.round(width), Math.round(height));
  return `${Math.round(width) / g}:${Math.round(height) / g}`;
}

/** "16:9 · 832×480" */
export function aspectLabel(width: number, height: number): string {
  return `${aspectRatioName(width, height)} · ${width}×${height}`;
}

/** "portrait" | "landscape" | "square", for an icon's shape. */
export function orientation(width: number, height: number): "portrait" | "landscape" | "square" {
  if (width === height) return "square";
  return width > height ? "landscape" : "portrait";
}

/** Seconds with one decimal, without a trailing ".0" ("5.1", "2", "0.1"). */
export function formatDecimal(value: number, digits = 1): string {
  return Number(value.toFixed(digits)).toString();
}

/** "81 frames · 5.1 s" (a single frame reads "1 frame · still image"). */
export function durationLabel(frames: number, fps: number): string {
  if (frames === 1) return "1 frame · still image";
  return `${frames} frames · ${formatDecimal(frames / fps)} s`;
}

/**
 * The durations a slider offers for a model: every valid frame count (4k+1) from 5 frames up to
 * `maxFrames`, as { frames, seconds }.
 */
export function durationChoices(fps: number, maxFrames: number): { frames: number; seconds: number }[] {
  const out: { frames: number; seconds: number }[] = [];
  for (let frames = 5; frames <= maxFrames; frames += 4) out.push({ frames, seconds: frames / fps });
  return out;
}

/** The shortest clip the duration field offers (its slider starts here): one step of the VAE past a still. */
export const MIN_CLIP_FRAMES = 5;

/**
 * The valid frame count for a typed duration, kept within MIN_CLIP_FRAMES…maxFrames; null when the text
 * is not a duration at all (not a number, zero or negative), which the field reports instead of quietly
 * making a one-frame still of it.
 */
export function snapSecondsToFrames(seconds: number, fps: number, maxFrames: number): number | null {
  if (!Number.isFinite(seconds) || seconds <= 0) return null;
  const frames = framesForSeconds(seconds, fps);
  return Math.min(Math.max(MIN_CLIP_FRAMES, frames), validFramesWithin(maxFrames));
}

/** Execution providers as people name the hardware (ONNX Runtime's names otherwise). */
const DEVICE_NAMES: Record<string, string> = { cuda: "an NVIDIA GPU", webgpu: "the GPU (WebGPU)", cpu: "the CPU" };

/**
 * Where the studio's live workers run the model, from /api/health's providers (each worker's first one is
 * what it runs on; CPU is only every worker's fallback): "the CPU", "an NVIDIA GPU", both, or null when
 * no worker is running.
 */
export function renderDevice(workers: { executionProviders: string[] }[]): string | null {
  const devices = [...new Set(workers.map((w) => w.executionProviders[0]).filter(Boolean))];
  if (devices.length === 0) return null;
  return devices.map((d) => DEVICE_NAMES[d] ?? d).join(" and ");
}

/**
 * Output frames decoded after `latentFrames` of the causal VAE's latent frames: the first latent frame
 * gives one frame, every later one four (docs/model-notes.md#latent-normalisation-and-the-frame-rule), so 3 latent frames are 9 video frames.
 */
export function decodedFrames(latentFrames: number): number {
  return latentFrames <= 0 ? 0 : videoFrameCount(latentFrames);
}

/**
 * A span of time for ETAs and timings: "0.4 s", "12 s", "3 min 05 s", "1 h 02 min". Returns "—" for
 * values that are unknown (null, NaN, negative).
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "—";
  if (seconds < 10) return `${formatDecimal(seconds)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const total = Math.round(seconds);
  if (total < 3600) {
    const m = Math.floor(total / 60);
    return `${m} min ${String(total % 60).padStart(2, "0")} s`;
  }
  const h = Math.floor(total / 3600);
  return `${h} h ${String(Math.floor((total % 3600) / 60)).padStart(2, "0")} min`;
}

/** Whole percent of a 0…1 fraction, clamped: 0.423 → 42. */
export function percent(fraction: number | null | undefined): number {
  if (fraction == null || !Number.isFinite(fraction)) return 0;
  return Math.max(0, Math.min(100, Math.floor(fraction * 100)));
}

/**
 * A job page's title (the layout adds " · Wan Studio"): how far it is while it runs, else its state, and the
 * prompt once it succeeded. The server's metadata and the live page use this one rule, so neither overwrites
 * the other with something else.
 */
export function jobTitle(job: { status: string; progress?: number | null; prompt: string }): string {
  if (job.status === "running") return `${percent(job.progress)}%`;
  if (job.status === "queued") return "Queued";
  if (job.status === "succeeded") return promptExcerpt(job.prompt, 40);
  return job.status === "failed" ? "Failed" : "Canceled";
}

/** "just now", "5 min ago", "3 h ago", "2 days ago", then the date. */
export function relativeTime(iso: string | Date, now: Date = new Date()): string {
  const then = typeof iso === "string" ? new Date(iso) : iso;
  const s = Math.round((now.getTime() - then.getTime()) / 1000);
  if (!Number.isFinite(s)) return "";
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  if (s < 7 * 86_400) {
    const d = Math.round(s / 86_400);
    return `${d} day${d === 1 ? "" : "s"} ago`;
  }
  return then.toISOString().slice(0, 10);
}

/** Phase names as the job page shows them while a job runs. */
export const PHASE_LABELS: Record<GenerationPhase | "queued", string> = {
  queued: "Waiting in queue",
  load: "Loading the model",
  text: "Encoding the prompt",
  input: "Encoding the input",
  denoise: "Denoising",
  decode: "Decoding frames",
};

/** Phase names in the timings table. */
export const PHASE_SHORT_LABELS: Record<GenerationPhase, string> = {
  load: "Load",
  text: "Prompt",
  input: "Input",
  denoise: "Denoise",
  decode: "Decode",
};

function labelOf(labels: Record<string, string>, phase: string): string {
  return labels[phase] ?? phase.charAt(0).toUpperCase() + phase.slice(1);
}

export function phaseLabel(phase: string | null | undefined): string {
  if (!phase) return "Starting";
  return labelOf(PHASE_LABELS, phase);
}

export function phaseShortLabel(phase: string): string {
  return labelOf(PHASE_SHORT_LABELS, phase);
}

/** The samplers as the form and the job page name them. */
export const SOLVER_LABELS: Record<Solver, { name: string; note: string }> = {
  unipc: { name: "UniPC", note: "Wan's default" },
  dpmpp: { name: "DPM++", note: "2nd order" },
  euler: { name: "Euler", note: "1st order" },
  rcm: { name: "rCM", note: "distilled, 1–4 steps" },
};

/** Step caching (lib/engine/step-cache.ts); the speed-ups are TeaCache4Wan2.1's published 1.3B figures. */
export const SPEED_LABELS: Record<Speed, { name: string; note: string }> = {
  exact: { name: "Exact", note: "every step" },
  fast: { name: "Fast", note: "~1.5× quicker" },
  faster: { name: "Faster", note: "~2× quicker" },
};

/** The first line of a prompt, shortened for cards and titles. */
export function promptExcerpt(prompt: string, max = 80): string {
  const line = prompt.trim().split(/\r?\n/)[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1).trimEnd()}…` : line;
}

/**
 * What fitting does to an input, in output pixels, for the caption under the crop preview:
 * "Crops 2 px from the top and bottom", "Adds 4 px bars left and right", "Fits exactly".
 */
export function fitSummary(
  input: { width: number; height: number },
  output: { width: number; height: number },
  fit: ImageFit,
): string {
  const scale =
    fit === "crop"
      ? Math.max(output.width / input.width, output.height / input.height)
      : Math.min(output.width / input.width, output.height / input.height);
  const extraW = (input.width * scale - output.width) / 2;
  const extraH = (input.height * scale - output.height) / 2;
  if (fit === "crop") {
    const cutX = Math.round(extraW);
    const cutY = Math.round(extraH);
    if (cutX >= 1) return `Crops ${cutX} px from the left and right`;
    if (cutY >= 1) return `Crops ${cutY} px from the top and bottom`;
    return "Fits exactly: nothing is cropped";
  }
  const barX = Math.round(-extraW);
  const barY = Math.round(-extraH);
  if (barX >= 1) return `Adds ${barX} px bars left and right`;
  if (barY >= 1) return `Adds ${barY} px bars at the top and bottom`;
  return "Fits exactly: no bars needed";
}

/** "1.2 MB" */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${formatDecimal(bytes / 1024)} KB`;
  if (bytes < 1024 ** 3) return `${formatDecimal(bytes / (1024 * 1024))} MB`;
  return `${formatDecimal(bytes / 1024 ** 3, 2)} GB`;
}
