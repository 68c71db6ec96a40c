/**
 * Turns an input image into what the engine needs: the frame at the output size (crop or pad exactly as the
 * studio's preview shows it, lib/images/fit.ts), and the original picture for the CLIP encoder, which the
 * official pipeline feeds the image before any resizing (official wan/image2video.py, WanI2V.generate; official wan/modules/clip.py, CLIPModel.visual). EXIF orientation is
 * applied and transparency flattened onto black, as PIL's `convert("RGB")` drops alpha in the official code.
 */
import sharp from "sharp";
import { fitPlacement, outputSizeForPreset, type ImageFit, type Size } from "./fit.ts";

export type RgbImage = { width: number; height: number; rgb: Uint8Array };

export type PreparedImage = {
  /** The frame the video starts from, at the output size. */
  frame: RgbImage;
  /** The upright original (downscaled when huge), for the CLIP encoder. */
  original: RgbImage;
  output: Size;
};

/** Larger originals are reduced first: CLIP sees 224 px anyway, and a 48 MP float tensor would cost 600 MB. */
const MAX_ORIGINAL_SIDE = 2048;

/** Upright, alpha-free RGB of an image file. */
export async function readRgb(file: string, maxSide = MAX_ORIGINAL_SIDE): Promise<RgbImage> {
  const { data, info } = await sharp(file, { limitInputPixels: 100_000_000 })
    .rotate()
    .flatten({ background: "#000000" })
    .resize({ width: maxSide, height: maxSide, fit: "inside", withoutEnlargement: true, kernel: "lanczos3" })
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 colour channels, got ${info.channels}`);
  return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** The upright size of an image file (EXIF orientations 5–8 swap width and height). */
export async function uprightSize(file: string): Promise<Size> {
  const meta = await sharp(file, { limitInputPixels: 100_000_000 }).metadata();
  if (!meta.width || !meta.height) throw new Error("the image has no size");
  const swapped = (meta.orientation ?? 1) >= 5;
  return swapped ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}

/**
 * The first frame at `output` size from the full-resolution file: "crop" cuts the overflow equally from both
 * sides, "pad" letterboxes with black. Resampling is bicubic, as the official pipeline resizes the image
 * (official wan/image2video.py, WanI2V.generate (the conditioning video)). The placement is computed on the upright full-resolution size, exactly as the studio's
 * preview computes it from the uploaded image.
 */
export async function placeImage(file: string, output: Size, fit: ImageFit): Promise<RgbImage> {
  const { source, target } = fitPlacement(await uprightSize(file), output, fit);
  const { data } = await sharp(file, { limitInputPixels: 100_000_000 })
    .rotate()
    .flatten({ background: "#000000" })
    .extract({ left: source.x, top: source.y, width: source.width, height: source.height })
    .resize({ width: target.width, height: target.height, fit: "fill", kernel: "cubic" })
    .extend({
      top: target.y,
      left: target.x,
      bottom: output.height - target.y - target.height,
      right: output.width - target.x - target.width,
      background: { r: 0, g: 0, b: 0 },
    })
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: output.width, height: output.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** The output size for a size preset (the pixel budget) and the frame and CLIP picture of an image file. */
export async function prepareImage(file: string, preset: Size, fit: ImageFit): Promise<PreparedImage> {
  const output = outputSizeForPreset(await uprightSize(file), preset);
  return { output, frame: await placeImage(file, output, fit), original: await readRgb(file) };
}

/** rgb24 → a [3, H, W] float tensor in [-1, 1] (x/127.5 − 1, the official to_tensor().sub(0.5).div(0.5)). */
export function rgbToTensor(image: RgbImage): Float32Array {
  const { width, height, rgb } = image;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = (rgb[3 * i + c] / 255 - 0.5) / 0.5;
  }
  return out;
}
