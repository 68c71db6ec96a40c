/**
 * Cheap previews while sampling: instead of running the VAE decoder (seconds per call), each latent
 * pixel's 16 channels are mapped to RGB by one affine map, rgb = W·z + b. Wan's latent is 8× smaller
 * than the video in each spatial direction (docs/model-notes.md#latent-normalisation-and-the-frame-rule), so a preview is a blurry but faithful
 * thumbnail of where the sample is going, and costs 16·3 multiply-adds per latent pixel.
 *
 * The map is model-specific; `fitPreviewProjection` (preview-fit.ts) computes it from the model's own
 * VAE. It applies to the latent the sampler holds (the normalised z of docs/model-notes.md#latent-normalisation-and-the-frame-rule), and its output is in
 * 0…255 units.
 */
import sharp from "sharp";

/** Wan 2.1's VAE has z_dim 16 (docs/model-notes.md#latent-normalisation-and-the-frame-rule). */
export const LATENT_CHANNELS = 16;

/** rgb = weights · z + bias; `weights` is 3×16 row-major (row c holds output channel c), in 0…255 units. */
export type PreviewProjection = { weights: number[]; bias: number[] };

/** Sizes of a channel-major latent [16, frames, height, width]. */
export type LatentDims = { frames: number; height: number; width: number };

export function checkPreviewProjection(projection: PreviewProjection): void {
  const { weights, bias } = projection;
  if (weights.length !== 3 * LATENT_CHANNELS || bias.length !== 3) {
    throw new RangeError(
      `preview projection needs 3×${LATENT_CHANNELS} weights and 3 biases, got ${weights.length} and ${bias.length}`,
    );
  }
  if (![...weights, ...bias].every(Number.isFinite)) throw new RangeError("preview projection has a non-finite value");
}

function checkLatent(latent: Float32Array, dims: LatentDims): void {
  const { frames, height, width } = dims;
  for (const [name, v] of Object.entries({ frames, height, width })) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`latent ${name} must be a positive integer, got ${v}`);
  }
  const expected = LATENT_CHANNELS * frames * height * width;
  if (latent.length !== expected) {
    throw new RangeError(
      `a [${LATENT_CHANNELS}, ${frames}, ${height}, ${width}] latent has ${expected} values, got ${latent.length}`,
    );
  }
}

/** Latent frame `frameIndex` as rgb24 of size height×width: W·z + b, rounded and clamped to 0…255. */
export function latentToPreviewRgb(
  latent: Float32Array,
  dims: LatentDims,
  frameIndex: number,
  projection: PreviewProjection,
): Uint8Array {
  checkLatent(latent, dims);
  checkPreviewProjection(projection);
  const { frames, height, width } = dims;
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= frames) {
    throw new RangeError(`latentToPreviewRgb: frame ${frameIndex} is outside 0…${frames - 1}`);
  }
  const plane = height * width;
  const { weights, bias } = projection;
  const acc = new Float64Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    acc[p * 3] = bias[0];
    acc[p * 3 + 1] = bias[1];
    acc[p * 3 + 2] = bias[2];
  }
  // Channel by channel, so each pass reads one contiguous latent plane.
  for (let k = 0; k < LATENT_CHANNELS; k++) {
    const base = (k * frames + frameIndex) * plane;
    const w0 = weights[k];
    const w1 = weights[LATENT_CHANNELS + k];
    const w2 = weights[2 * LATENT_CHANNELS + k];
    for (let p = 0; p < plane; p++) {
      const z = latent[base + p];
      acc[p * 3] += w0 * z;
      acc[p * 3 + 1] += w1 * z;
      acc[p * 3 + 2] += w2 * z;
    }
  }
  const rgb = new Uint8Array(plane * 3);
  // Uint8Array assignment would wrap and truncate; clamp and round explicitly. NaN becomes 0.
  for (let i = 0; i < rgb.length; i++) rgb[i] = Math.min(255, Math.max(0, Math.round(acc[i]) || 0));
  return rgb;
}

/** Enlarges rgb24 by an integer factor, each latent pixel becoming a scale×scale block. */
export function upscaleNearest(rgb: Uint8Array, width: number, height: number, scale: number): Uint8Array {
  if (scale === 1) return rgb;
  const outWidth = width * scale;
  const out = new Uint8Array(outWidth * height * scale * 3);
  for (let y = 0; y < height; y++) {
    const row = new Uint8Array(outWidth * 3);
    for (let x = 0; x < width; x++) {
      const src = (y * width + x) * 3;
      for (let s = 0; s < scale; s++) row.set(rgb.subarray(src, src + 3), (x * scale + s) * 3);
    }
    for (let s = 0; s < scale; s++) out.set(row, (y * scale + s) * outWidth * 3);
  }
  return out;
}

export type PreviewWebpOptions = {
  /** One latent frame as a still image; omitted → an animated WebP of every latent frame. */
  frameIndex?: number;
  /** Enlargement factor (nearest neighbour); lowered automatically to stay under maxBytes. */
  scale?: number;
  /** Size budget; quality and then scale drop until the WebP fits. */
  maxBytes?: number;
  /** Delay per latent frame; one latent frame stands for 4 video frames (docs/model-notes.md#latent-normalisation-and-the-frame-rule), 4/16 fps = 250 ms. */
  frameDelayMs?: number;
};

export type PreviewWebp = { data: Buffer; width: number; height: number; frames: number; scale: number; quality: number };

const PREVIEW_QUALITIES = [60, 40, 25];

/**
 * A small WebP for the UI: the latent frame (or all latent frames, animated) projected to RGB and
 * enlarged. Sampling noise compresses badly, so the encoder tries lower qualities, then smaller
 * scales (skipping ahead when far over budget), until the result fits `maxBytes` (default 100 kB);
 * at scale 1 and the lowest quality it returns what it has.
 */
export async function encodePreviewWebp(
  latent: Float32Array,
  dims: LatentDims,
  projection: PreviewProjection,
  options: PreviewWebpOptions = {},
): Promise<PreviewWebp> {
  const { frameIndex, scale: requestedScale = 4, maxBytes = 100_000, frameDelayMs = 250 } = options;
  if (!Number.isInteger(requestedScale) || requestedScale < 1 || requestedScale > 16) {
    throw new RangeError(`encodePreviewWebp: scale must be an integer from 1 to 16, got ${requestedScale}`);
  }
  const indices = frameIndex === undefined ? Array.from({ length: dims.frames }, (_, i) => i) : [frameIndex];
  const frames = indices.map((f) => latentToPreviewRgb(latent, dims, f, projection));

  for (let scale = requestedScale; ; scale = Math.max(1, Math.floor(scale / 2))) {
    const width = dims.width * scale;
    const height = dims.height * scale;
    // Animated WebP from raw pixels: all frames stacked vertically, with pageHeight marking each one.
    const strip = new Uint8Array(width * height * 3 * frames.length);
    frames.forEach((rgb, i) => strip.set(upscaleNearest(rgb, dims.width, dims.height, scale), i * width * height * 3));
    const animated = frames.length > 1;
    for (const quality of PREVIEW_QUALITIES) {
      const data = await sharp(strip, {
        raw: { width, height: height * frames.length, channels: 3, ...(animated ? { pageHeight: height } : {}) },
      })
        .webp({ quality, effort: 4, ...(animated ? { loop: 0, delay: frames.map(() => frameDelayMs) } : {}) })
        .toBuffer();
      const lastTry = scale === 1 && quality === PREVIEW_QUALITIES[PREVIEW_QUALITIES.length - 1];
      if (data.length <= maxBytes || lastTry) return { data, width, height, frames: frames.length, scale, quality };
      // Lower quality saves well under 2.5× here; far over budget, go straight to a smaller scale.
      if (data.length > 2.5 * maxBytes && scale > 1) break;
    }
  }
}
