/**
 * Runs the streaming Wan VAE graphs (models/wan/vae.ts): encoding a video chunk by chunk and decoding latents
 * one latent frame at a time, carrying the explicit feature cache from call to call (reference §3.3).
 *
 * Memory stays flat however long the video: the step graphs write their `cache_out.*` into pre-allocated
 * tensors that alternate with the `cache_in.*` ones (two cache sets in total, no per-step garbage), and
 * each decoded chunk is handed to the caller as soon as it exists.
 */
import path from "node:path";
import * as ort from "onnxruntime-node";
import type { VaeGraphFiles } from "../../models/wan/vae-export.ts";

export type VaeEncoderSessions = { encoderFirst: ort.InferenceSession; encoderStep: ort.InferenceSession };
export type VaeDecoderSessions = { decoderFirst: ort.InferenceSession; decoderStep: ort.InferenceSession };
export type VaeSessions = VaeEncoderSessions & VaeDecoderSessions;

/** Pixels per latent cell (§3.4) and frames per chunk after the first (§3.3) of the Wan 2.1 VAE. */
export const VAE_SPATIAL_SCALE = 8;
export const VAE_TEMPORAL_SCALE = 4;

/** Latent frames for T video frames: 1 + ⌊(T−1)/4⌋ (frames beyond 4n+1 are dropped, §3.3). */
export function latentFrameCount(frames: number): number {
  return 1 + Math.floor((frames - 1) / VAE_TEMPORAL_SCALE);
}

/** Video frames decoded from F latent frames: 1 + 4(F−1) (§3.3). */
export function videoFrameCount(latentFrames: number): number {
  return 1 + VAE_TEMPORAL_SCALE * (latentFrames - 1);
}

/**
 * The VAE's adjustments to the generic session options (runtime.ts `sessionOptions`), measured in
 * bench/vae.ts: no memory patterns (with symbolic spatial sizes ORT plans a second, separate block on the
 * second run: peak RSS 10.1 instead of 7.4 GB decoding 240×416, plus page-fault time), and no arena for the
 * first-chunk graphs, which run once per video (their arena would only hold memory the step graph cannot
 * reuse: +1.1 GB).
 */
export function vaeSessionOptions(
  options: ort.InferenceSession.SessionOptions,
  graph: "first" | "step",
): ort.InferenceSession.SessionOptions {
  return { ...options, enableMemPattern: false, ...(graph === "first" ? { enableCpuMemArena: false } : {}) };
}

/**
 * Creates sessions for the graphs listed (a manifest's `vae.files`, relative to `dir`): the decoder pair, the
 * encoder pair, or both. Text-to-video never encodes, so workers open the encoder only when a job needs it.
 */
export async function createVaeSessions(
  dir: string,
  files: VaeGraphFiles,
  options: ort.InferenceSession.SessionOptions,
): Promise<VaeSessions>;
export async function createVaeSessions(
  dir: string,
  files: VaeGraphFiles,
  options: ort.InferenceSession.SessionOptions,
  parts: "decoder",
): Promise<VaeDecoderSessions>;
export async function createVaeSessions(
  dir: string,
  files: VaeGraphFiles,
  options: ort.InferenceSession.SessionOptions,
  parts: "encoder",
): Promise<VaeEncoderSessions>;
export async function createVaeSessions(
  dir: string,
  files: VaeGraphFiles,
  options: ort.InferenceSession.SessionOptions,
  parts: "encoder" | "decoder" | "both" = "both",
): Promise<Partial<VaeSessions>> {
  const created: ort.InferenceSession[] = [];
  const open = async (file: string, graph: "first" | "step") => {
    const s = await ort.InferenceSession.create(path.join(dir, file), vaeSessionOptions(options, graph));
    created.push(s);
    return s;
  };
  try {
    const sessions: Partial<VaeSessions> = {};
    if (parts !== "decoder") {
      sessions.encoderFirst = await open(files.encoderFirst, "first");
      sessions.encoderStep = await open(files.encoderStep, "step");
    }
    if (parts !== "encoder") {
      sessions.decoderFirst = await open(files.decoderFirst, "first");
      sessions.decoderStep = await open(files.decoderStep, "step");
    }
    return sessions;
  } catch (e) {
    await Promise.all(created.map((s) => s.release()));
    throw e;
  }
}

export async function releaseVaeSessions(sessions: Partial<VaeSessions>): Promise<void> {
  await Promise.all(Object.values(sessions).map((s) => s?.release()));
}

/** Frames [start, start + count) of a video as a [3, count, H, W] tensor in [-1, 1]. */
export type FrameSource = (start: number, count: number) => Float32Array;

/**
 * Encodes a video [3, T, H, W] in [-1, 1] into the NORMALISED latent [z, 1+⌊(T−1)/4⌋, H/8, W/8]: frame 0
 * alone, then chunks of 4 frames; trailing frames beyond 4n+1 are dropped (§3.3).
 */
export async function encodeVideo(
  sessions: VaeEncoderSessions,
  video: Float32Array,
  T: number,
  H: number,
  W: number,
  opts: { signal?: AbortSignal } = {},
): Promise<Float32Array> {
  checkSize("video", video, [3, T, H, W]);
  return encodeFrames(
    sessions,
    T,
    H,
    W,
    (start, frames) => {
      const data = new Float32Array(3 * frames * H * W);
      for (let c = 0; c < 3; c++) {
        const from = (c * T + start) * H * W;
        data.set(video.subarray(from, from + frames * H * W), c * frames * H * W);
      }
      return data;
    },
    opts,
  );
}

/**
 * The same, with frames supplied chunk by chunk (1, then 4 at a time), so a long input is never held as one
 * float tensor: the image-to-video conditioning video is one image and zeros, a video-to-video input is
 * converted from bytes as it is needed.
 */
export async function encodeFrames(
  sessions: VaeEncoderSessions,
  T: number,
  H: number,
  W: number,
  frames: FrameSource,
  opts: { signal?: AbortSignal; onChunk?: (done: number, total: number) => void } = {},
): Promise<Float32Array> {
  if (T < 1) throw new Error("encodeVideo: the video has no frames");
  if (H % VAE_SPATIAL_SCALE || W % VAE_SPATIAL_SCALE) {
    throw new Error(`encodeVideo: height and width must be multiples of ${VAE_SPATIAL_SCALE} (got ${H}×${W})`);
  }
  const F = latentFrameCount(T);
  const [h, w] = [H / VAE_SPATIAL_SCALE, W / VAE_SPATIAL_SCALE];
  const chunk = (start: number, count: number) => {
    const data = frames(start, count);
    checkSize("frames", data, [3, count, H, W]);
    return new ort.Tensor("float32", data, [1, 3, count, H, W]);
  };
  let latent: Float32Array | undefined;
  const cache = new StreamingCache(sessions.encoderFirst, sessions.encoderStep, "encoder");
  try {
    for (let f = 0; f < F; f++) {
      opts.signal?.throwIfAborted();
      const input = f === 0 ? chunk(0, 1) : chunk(1 + VAE_TEMPORAL_SCALE * (f - 1), VAE_TEMPORAL_SCALE);
      const out = await cache.run({ video: input }, "latent");
      const [, z, t, lh, lw] = out.dims;
      if (t !== 1 || lh !== h || lw !== w) throw new Error(`encoder returned a latent of shape [${out.dims}]`);
      latent ??= new Float32Array(z * F * h * w);
      const data = out.data as Float32Array;
      for (let c = 0; c < z; c++) latent.set(data.subarray(c * h * w, (c + 1) * h * w), (c * F + f) * h * w);
      out.dispose?.();
      opts.onChunk?.(f + 1, F);
    }
  } finally {
    cache.dispose();
  }
  return latent!;
}

export type DecodedChunk = {
  /** [3, t, 8h, 8w], clamped to [-1, 1]. */
  frames: Float32Array;
  t: number;
};

/**
 * Decodes a NORMALISED latent [z, F, h, w] one latent frame at a time, yielding each chunk as it is ready:
 * 1 frame for latent 0, then 4 per latent (§3.3). `signal` is checked before every chunk.
 */
export async function* decodeLatents(
  sessions: VaeDecoderSessions,
  latent: Float32Array,
  F: number,
  h: number,
  w: number,
  opts: { signal?: AbortSignal } = {},
): AsyncGenerator<DecodedChunk> {
  if (F < 1 || latent.length % (F * h * w) !== 0) {
    throw new Error(`decodeLatents: ${latent.length} values do not form a latent of ${F}×${h}×${w} frames`);
  }
  const z = latent.length / (F * h * w);
  const cache = new StreamingCache(sessions.decoderFirst, sessions.decoderStep, "decoder");
  try {
    for (let f = 0; f < F; f++) {
      opts.signal?.throwIfAborted();
      const frame = new Float32Array(z * h * w);
      for (let c = 0; c < z; c++) frame.set(latent.subarray((c * F + f) * h * w, (c * F + f + 1) * h * w), c * h * w);
      const out = await cache.run({ latent: new ort.Tensor("float32", frame, [1, z, 1, h, w]) }, "video");
      const t = out.dims[2];
      const expected = f === 0 ? 1 : VAE_TEMPORAL_SCALE;
      if (t !== expected || out.dims[3] !== h * VAE_SPATIAL_SCALE || out.dims[4] !== w * VAE_SPATIAL_SCALE) {
        throw new Error(`decoder returned video of shape [${out.dims}] for latent frame ${f}`);
      }
      yield { frames: out.data as Float32Array, t };
    }
  } finally {
    cache.dispose();
  }
}

/**
 * The feature cache between a first-chunk graph and a step graph: `cache_out.<i>` of one call feeds
 * `cache_in.<i>` of the next. Step outputs go into a second, pre-allocated set of tensors, and the two sets
 * swap roles after every call.
 */
class StreamingCache {
  private current: ort.Tensor[] | undefined;
  private spare: ort.Tensor[] | undefined;
  private readonly slots: number[];

  constructor(
    private readonly first: ort.InferenceSession,
    private readonly step: ort.InferenceSession,
    what: string,
  ) {
    this.slots = first.outputNames
      .map((n) => /^cache_out\.(\d+)$/.exec(n)?.[1])
      .filter((i) => i !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const missing = this.slots.filter(
      (i) => !step.inputNames.includes(`cache_in.${i}`) || !step.outputNames.includes(`cache_out.${i}`),
    );
    if (!this.slots.length || missing.length || step.inputNames.length !== this.slots.length + 1) {
      throw new Error(`the ${what} first and step graphs do not share one cache layout`);
    }
  }

  /** Runs the next chunk; returns the output `main` (the caches are kept here). */
  async run(feeds: Record<string, ort.Tensor>, main: string): Promise<ort.Tensor> {
    const outNames = this.slots.map((i) => `cache_out.${i}`);
    if (!this.current) {
      const out = await this.first.run(feeds, [main, ...outNames]);
      this.current = outNames.map((n) => out[n] as ort.Tensor);
      return out[main] as ort.Tensor;
    }
    this.spare ??= this.current.map((t) => new ort.Tensor("float32", new Float32Array(t.size), t.dims));
    const fetches: Record<string, ort.Tensor | null> = { [main]: null };
    this.slots.forEach((i, k) => (fetches[`cache_out.${i}`] = this.spare![k]));
    const inputs: Record<string, ort.Tensor> = { ...feeds };
    this.slots.forEach((i, k) => (inputs[`cache_in.${i}`] = this.current![k]));
    const out = await this.step.run(inputs, fetches);
    [this.current, this.spare] = [this.spare, this.current];
    return out[main] as ort.Tensor;
  }

  /** Drops both cache sets (the largest allocations of a decode). */
  dispose(): void {
    for (const t of [...(this.current ?? []), ...(this.spare ?? [])]) t.dispose?.();
    this.current = this.spare = undefined;
  }
}

function checkSize(what: string, data: Float32Array, dims: number[]): void {
  const n = dims.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new Error(`${what}: ${data.length} values, expected [${dims}] = ${n}`);
}
