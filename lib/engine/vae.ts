/**
 * Runs the streaming Wan VAE graphs (models/wan/vae.ts): encoding a video chunk by chunk and decoding latents
 * one latent frame at a time, carrying the explicit feature cache from call to call (official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode), with
 * the full-resolution layers one frame per call where the model folder has per-frame graphs.
 *
 * Memory stays flat however long the video: the caches live in pre-allocated tensors that graphs write in
 * turn (vae-cache.ts), the per-frame graphs read and write frames as views of the step graphs' tensors, and
 * each decoded chunk is handed to the caller as soon as it exists.
 */
import path from "node:path";
import * as ort from "onnxruntime-node";
import type { VaeGraphFiles } from "../../models/wan/vae-export.ts";
import { openSession, type ResolvedRuntime } from "./runtime.ts";
import { FRAMES_PER_LATENT, latentFrameCount } from "../schemas/generation.ts";
import { VaeCache } from "./vae-cache.ts";

/** The per-frame graphs are absent for model folders converted before the split; their step graphs are unsplit. */
export type VaeEncoderSessions = {
  encoderFirst: ort.InferenceSession;
  encoderFrame?: ort.InferenceSession;
  encoderStep: ort.InferenceSession;
};
export type VaeDecoderSessions = {
  decoderFirst: ort.InferenceSession;
  decoderStep: ort.InferenceSession;
  decoderFrame?: ort.InferenceSession;
};
export type VaeSessions = VaeEncoderSessions & VaeDecoderSessions;

/** Pixels per latent cell (docs/model-notes.md#latent-normalisation-and-the-frame-rule) and frames per chunk after the first (official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode) of the Wan 2.1 VAE. */
export const VAE_SPATIAL_SCALE = 8;
export const VAE_TEMPORAL_SCALE = FRAMES_PER_LATENT;
export { latentFrameCount };

/**
 * The VAE's adjustments to the generic session options (runtime.ts `sessionOptions`): no memory patterns
 * (with symbolic spatial sizes ORT plans a second, separate block on the second run), and no arena for the
 * first-chunk graphs, which run once per video (their arena would only hold memory the other graphs cannot
 * reuse). The step and per-frame graphs keep their arenas, which they reuse on every call. Figures:
 * bench/NOTES.md "VAE session options".
 */
export function vaeSessionOptions(graph: "first" | "step" | "frame"): Partial<ort.InferenceSession.SessionOptions> {
  return { enableMemPattern: false, ...(graph === "first" ? { enableCpuMemArena: false } : {}) };
}

/** The feature cache stays on the device between calls (WebGPU): 4.3 GiB a latent frame would cross at 480p. */
const isCacheOutput = (name: string) => name.startsWith("cache_out.");

/**
 * Creates sessions for the graphs listed (a manifest's `vae.files`, relative to `dir`): the decoder graphs,
 * the encoder graphs, or both (with the per-frame graphs where the folder has them). Text-to-video never encodes, so workers open the encoder only when a job needs it.
 */
export async function createVaeSessions(
  dir: string,
  files: VaeGraphFiles,
  runtime: ResolvedRuntime,
): Promise<VaeSessions>;
export async function createVaeSessions(
  dir: string,
  files: VaeGraphFiles,
  runtime: ResolvedRuntime,
  parts: "decoder",
): Promise<VaeDecoderSessions>;
export async function createVaeSessions(
  dir: string,
  files: VaeGraphFiles,
  runtime: ResolvedRuntime,
  parts: "encoder",
): Promise<VaeEncoderSessions>;
export async function createVaeSessions(
  dir: string,
  files: VaeGraphFiles,
  runtime: ResolvedRuntime,
  parts: "encoder" | "decoder" | "both" = "both",
): Promise<Partial<VaeSessions>> {
  const created: ort.InferenceSession[] = [];
  const open = async (file: string, graph: "first" | "step" | "frame") => {
    const s = await openSession(path.join(dir, file), runtime, { tune: vaeSessionOptions(graph), deviceOutputs: isCacheOutput });
    created.push(s);
    return s;
  };
  try {
    const sessions: Partial<VaeSessions> = {};
    if (parts !== "decoder") {
      sessions.encoderFirst = await open(files.encoderFirst, "first");
      if (files.encoderFrame) sessions.encoderFrame = await open(files.encoderFrame, "frame");
      sessions.encoderStep = await open(files.encoderStep, "step");
    }
    if (parts !== "encoder") {
      sessions.decoderFirst = await open(files.decoderFirst, "first");
      sessions.decoderStep = await open(files.decoderStep, "step");
      if (files.decoderFrame) sessions.decoderFrame = await open(files.decoderFrame, "frame");
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
 * alone, then chunks of 4 frames; trailing frames beyond 4n+1 are dropped (official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode).
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
 * The same, with frames supplied as they are needed (one at a time, or 1 then 4 at a time for an unsplit
 * model folder), so a long input is never held as one float tensor: the image-to-video conditioning video is
 * one image and zeros, a video-to-video input is converted from bytes as it is needed.
 *
 * With a per-frame graph (models/wan/vae.ts) each chunk's 4 frames go through it one by one, writing their
 * `features` straight into the 4 frame slots of the step graph's input, then the step graph encodes them.
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
  const cache = new VaeCache(sessions.encoderFirst, sessions.encoderStep, sessions.encoderFrame, "encoder");
  /** The step graph's input [4, C, H/4, W/4] and a view of each frame, which the per-frame graph writes. */
  let features: { all: ort.Tensor; frames: ort.Tensor[] } | undefined;
  try {
    for (let f = 0; f < F; f++) {
      opts.signal?.throwIfAborted();
      const start = 1 + VAE_TEMPORAL_SCALE * (f - 1);
      let out: ort.Tensor;
      if (f === 0) {
        const first = await sessions.encoderFirst.run({ video: chunk(0, 1) }, ["latent", ...cache.outputs]);
        cache.seed(first);
        out = first.latent as ort.Tensor;
      } else if (!cache.frame) {
        out = (await cache.step.run({ video: chunk(start, VAE_TEMPORAL_SCALE) }, { latent: null })).latent as ort.Tensor;
      } else {
        for (let k = 0; k < VAE_TEMPORAL_SCALE; k++) {
          if (k > 0) opts.signal?.throwIfAborted();
          const slot = features?.frames[k];
          const o = await cache.frame.run({ video: chunk(start + k, 1) }, { features: slot ?? null });
          const written = o.features as ort.Tensor;
          features ??= frameSlots(written, VAE_TEMPORAL_SCALE);
          // The CPU provider writes into the slot; a device session fills only the tensor it returns.
          if (slot && written.data !== slot.data) (slot.data as Float32Array).set(written.data as Float32Array);
        }
        out = (await cache.step.run({ features: features!.all }, { latent: null })).latent as ort.Tensor;
      }
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

/**
 * A frames-first tensor [n, C, H', W'] for `n` outputs shaped like `frame` [1, C, H', W'], with a view of
 * each frame to fetch into (frame 0 takes `frame`'s values).
 */
function frameSlots(frame: ort.Tensor, n: number): { all: ort.Tensor; frames: ort.Tensor[] } {
  const data = new Float32Array(n * frame.size);
  data.set(frame.data as Float32Array);
  const [, ...rest] = frame.dims;
  const frames = Array.from(
    { length: n },
    (_, k) => new ort.Tensor("float32", data.subarray(k * frame.size, (k + 1) * frame.size), frame.dims),
  );
  return { all: new ort.Tensor("float32", data, [n, ...rest]), frames };
}

export type DecodedChunk = {
  /** [3, t, 8h, 8w], clamped to [-1, 1]. */
  frames: Float32Array;
  t: number;
};

/**
 * Decodes a NORMALISED latent [z, F, h, w] one latent frame at a time, yielding each chunk as it is ready:
 * 1 frame for latent 0, then 4 per latent (official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode). With a per-frame graph (models/wan/vae.ts) the step graph
 * yields the 4 frames at the last upsampler's resolution, and the per-frame graph takes them to full
 * resolution one at a time (reading each as a view of the step's output). `signal` is checked before every
 * chunk and every frame.
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
  const [H, W] = [h * VAE_SPATIAL_SCALE, w * VAE_SPATIAL_SCALE];
  const cache = new VaeCache(sessions.decoderFirst, sessions.decoderStep, sessions.decoderFrame, "decoder");
  const checkVideo = (t: ort.Tensor, frames: number, f: number) => {
    if (t.dims.length !== 5 || t.dims[2] !== frames || t.dims[3] !== H || t.dims[4] !== W) {
      throw new Error(`decoder returned video of shape [${t.dims}] for latent frame ${f}`);
    }
  };
  // Output buffers reused from call to call: the step's `features`, the per-frame graph's `video`.
  let features: ort.Tensor | undefined;
  let frameVideo: ort.Tensor | undefined;
  try {
    for (let f = 0; f < F; f++) {
      opts.signal?.throwIfAborted();
      const frame = new Float32Array(z * h * w);
      for (let c = 0; c < z; c++) frame.set(latent.subarray((c * F + f) * h * w, (c * F + f + 1) * h * w), c * h * w);
      const input = { latent: new ort.Tensor("float32", frame, [1, z, 1, h, w]) };
      if (f === 0) {
        const out = await sessions.decoderFirst.run(input, ["video", ...cache.outputs]);
        cache.seed(out);
        checkVideo(out.video as ort.Tensor, 1, f);
        yield { frames: out.video.data as Float32Array, t: 1 };
      } else if (!cache.frame) {
        const video = (await cache.step.run(input, { video: null })).video as ort.Tensor;
        checkVideo(video, VAE_TEMPORAL_SCALE, f);
        yield { frames: video.data as Float32Array, t: VAE_TEMPORAL_SCALE };
      } else {
        features = (await cache.step.run(input, { features: features ?? null })).features as ort.Tensor;
        const [T, ...rest] = features.dims;
        if (T !== VAE_TEMPORAL_SCALE) throw new Error(`decoder step returned features of shape [${features.dims}]`);
        const n = features.size / T;
        const chunk = new Float32Array(3 * T * H * W);
        for (let k = 0; k < T; k++) {
          if (k > 0) opts.signal?.throwIfAborted();
          const view = new ort.Tensor("float32", (features.data as Float32Array).subarray(k * n, (k + 1) * n), [1, ...rest]);
          frameVideo = (await cache.frame.run({ features: view }, { video: frameVideo ?? null })).video as ort.Tensor;
          checkVideo(frameVideo, 1, f);
          const data = frameVideo.data as Float32Array;
          for (let c = 0; c < 3; c++) chunk.set(data.subarray(c * H * W, (c + 1) * H * W), (c * T + k) * H * W);
        }
        yield { frames: chunk, t: T };
      }
    }
  } finally {
    cache.dispose();
  }
}

function checkSize(what: string, data: Float32Array, dims: number[]): void {
  const n = dims.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new Error(`${what}: ${data.length} values, expected [${dims}] = ${n}`);
}
