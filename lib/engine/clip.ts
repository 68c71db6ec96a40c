/**
 * Runs the CLIP image encoder graph (models/clip.ts) the way Wan's I2V does (official wan/modules/clip.py, CLIPModel.visual): the
 * original image, not the one resized for the video, is resized bicubically to exactly S×S (no crop, aspect
 * not preserved), mapped from [−1, 1] back to [0, 1] and normalised with CLIP's mean and std; the graph
 * returns the features after all blocks but the last, [tokens, width] (257 × 1280 for ViT-H/14).
 *
 * Diffusers' pipeline preprocesses differently (CLIPImageProcessor: shortest-edge resize + centre crop), so
 * its features differ from the official ones for non-square images; this follows the official code.
 */
import * as ort from "onnxruntime-node";
import { resizeBicubic } from "../images/bicubic.ts";

/** OpenAI CLIP's normalisation, which open-clip ViT-H/14 keeps (official wan/modules/clip.py, CLIPModel.visual). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/**
 * Official preprocessing of an image [3, H, W] in [−1, 1] into the encoder's input [3, S, S]. The arithmetic
 * after the resize is float32 in the official order (x·0.5 + 0.5, then (x − mean) / std, as torchvision's
 * Normalize), so it adds no error of its own.
 */
export function clipPixels(image: Float32Array, height: number, width: number, size: number): Float32Array {
  if (image.length !== 3 * height * width) throw new RangeError(`clipPixels: ${image.length} values are not [3, ${height}, ${width}]`);
  const pixels = resizeBicubic(image, 3, height, width, size, size);
  const plane = size * size;
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(CLIP_MEAN[c]);
    const std = Math.fround(CLIP_STD[c]);
    for (let i = c * plane; i < (c + 1) * plane; i++) {
      const unit = Math.fround(pixels[i] * 0.5 + 0.5);
      pixels[i] = Math.fround(unit - mean) / std;
    }
  }
  return pixels;
}

/** The encoder's input side S, from the graph's `pixels` input [batch, 3, S, S]. */
export function clipInputSize(session: ort.InferenceSession): number {
  const meta = session.inputMetadata.find((m) => m.name === "pixels");
  const size = meta?.isTensor ? meta.shape[3] : undefined;
  if (typeof size !== "number") throw new Error("the image encoder graph has no fixed-size `pixels` input [batch, 3, S, S]");
  return size;
}

export type ClipFeatures = {
  /** [tokens, width] row-major, class token first: the DiT's `clip_fea` for one image. */
  features: Float32Array;
  tokens: number;
  width: number;
  /** The preprocessed input [3, S, S], and S. */
  pixels: Float32Array;
  size: number;
};

/** Runs the encoder on preprocessed pixels [3, S, S]. */
export async function encodePixels(session: ort.InferenceSession, pixels: Float32Array): Promise<ClipFeatures> {
  const size = clipInputSize(session);
  if (pixels.length !== 3 * size * size) throw new RangeError(`encodePixels: ${pixels.length} values are not [3, ${size}, ${size}]`);
  const out = await session.run({ pixels: new ort.Tensor("float32", pixels, [1, 3, size, size]) });
  const fea = out.clip_fea;
  const [, tokens, width] = fea.dims;
  return { features: fea.data as Float32Array, tokens, width, pixels, size };
}

/** CLIP features of an image [3, H, W] in [−1, 1], preprocessed as Wan does. */
export async function encodeImage(session: ort.InferenceSession, image: Float32Array, height: number, width: number): Promise<ClipFeatures> {
  return encodePixels(session, clipPixels(image, height, width, clipInputSize(session)));
}
