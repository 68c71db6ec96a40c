/**
 * What an input image or video becomes for the sampler (official wan/image2video.py, WanI2V.generate):
 * - image-to-video models (36-channel DiT): the mask and the VAE latent of [image, zeros…], y = concat(mask 4,
 *   latent 16), exactly as the official I2V pipeline builds them (official wan/image2video.py, WanI2V.generate (mask, image latent, y));
 * - text-to-video models: the image's latent for latent frame 0, which the sampler holds (first-frame
 *   conditioning, lib/engine/denoise.ts);
 * - video-to-video: the clip's latent, noised to the starting step's σ (flow matching's forward process).
 */
import type { LatentShape } from "./dit.ts";
import { encodeFrames, latentFrameCount, type VaeEncoderSessions } from "./vae.ts";

/** Mask channels per latent frame: one per video frame a latent covers (4), frame 0 repeated (official wan/image2video.py, WanI2V.generate (the mask)). */
export const MASK_CHANNELS = 4;

/**
 * The mask [4, F, h, w] of official wan/image2video.py, WanI2V.generate (the mask) for a video whose first frame is known: latent frame 0 all ones
 * (its channel c is the mask of padded frame 4·0 + c, and frame 0 was repeated 4 times), later frames zeros.
 */
export function firstFrameMask(F: number, h: number, w: number): Float32Array {
  const mask = new Float32Array(MASK_CHANNELS * F * h * w);
  for (let c = 0; c < MASK_CHANNELS; c++) mask.fill(1, c * F * h * w, c * F * h * w + h * w);
  return mask;
}

/**
 * y = concat(mask, latent of the conditioning video) [20, F, h, w]: the video is the image as frame 0 and
 * zeros (mid-grey in [−1, 1]) for the other T − 1 frames, VAE-encoded in full — the causal encoder makes
 * latents 1…F−1 depend on frame 0, so they must really be computed (official wan/image2video.py, WanI2V.generate (the conditioning video)).
 */
export async function imageConditionY(
  encoder: VaeEncoderSessions,
  image: Float32Array,
  T: number,
  H: number,
  W: number,
  scale: number,
  opts: { signal?: AbortSignal; onChunk?: (done: number, total: number) => void } = {},
): Promise<Float32Array> {
  const latent = await encodeFrames(encoder, T, H, W, (start, count) => {
    const chunk = new Float32Array(3 * count * H * W);
    if (start === 0) for (let c = 0; c < 3; c++) chunk.set(image.subarray(c * H * W, (c + 1) * H * W), c * count * H * W);
    return chunk;
  }, opts);
  const F = latentFrameCount(T);
  const [h, w] = [H / scale, W / scale];
  const y = new Float32Array((MASK_CHANNELS * F + latent.length / (h * w)) * h * w);
  y.set(firstFrameMask(F, h, w), 0);
  y.set(latent, MASK_CHANNELS * F * h * w);
  return y;
}

/** The normalised latent of a single image (latent frame 0 of a video that starts with it) [z, 1, h, w]. */
export async function imageLatent(encoder: VaeEncoderSessions, image: Float32Array, H: number, W: number): Promise<Float32Array> {
  return encodeFrames(encoder, 1, H, W, () => image);
}

/**
 * The start step for video-to-video: strength 1 starts from pure noise (step 0), strength 0 would keep the
 * input; at least the last step always runs, so the result is a fresh sample.
 */
export function startStepForStrength(strength: number, steps: number): number {
  if (!(strength >= 0 && strength <= 1)) throw new RangeError(`strength must be in [0, 1] (got ${strength})`);
  return Math.min(steps - 1, Math.max(0, Math.round((1 - strength) * steps)));
}

export function latentShapeFor(frames: number, height: number, width: number, zDim: number, scale: number): LatentShape {
  return { channels: zDim, frames: latentFrameCount(frames), height: height / scale, width: width / scale };
}
