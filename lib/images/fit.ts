/**
 * How an input image (or the first frame of an input video) becomes the output frame: the output size,
 * and which part of the image lands where. Pure arithmetic, shared by the studio's crop preview and the
 * engine, so that what the user sees before submitting is exactly what the model receives.
 *
 * Output size (official wan/image2video.py, WanI2V.generate (output size from max_area)): the output keeps the image's aspect ratio within a pixel
 * budget `area`. The studio takes the budget from the selected size preset (832×480 → 399,360 pixels),
 * so an image-to-video request carries the preset's width and height, and this module derives the real
 * output size from them and the image. With a = h₀/w₀:
 *   lat_h = ⌊⌊√(area·a)/8⌋/2⌋·2,  lat_w = ⌊⌊√(area/a)/8⌋/2⌋·2,  H = 8·lat_h,  W = 8·lat_w,
 * so both sides are multiples of 16 (8 pixels per latent cell, 2 latent cells per DiT patch). The studio
 * computes it exactly (see floorSqrtRatio) and keeps each side within the generation schema's limits
 * (16…1920).
 *
 * Rounding down to multiples of 16 changes the aspect ratio slightly; the `fit` decides what happens to
 * the difference: "crop" scales the image to cover the output and cuts the overflow equally from both
 * sides; "pad" scales it to fit inside and fills the rest (letterbox or pillarbox).
 */
import type { ImageFit } from "../schemas/generation.ts";

export type Size = { width: number; height: number };
/** A rectangle in pixels; x/y are the top-left corner. */
export type Rect = { x: number; y: number; width: number; height: number };
export type { ImageFit };

/** Output sides are multiples of this (VAE stride 8 × DiT patch 2). */
export const SIZE_MULTIPLE = 16;
/** The generation schema's bounds for width and height (lib/schemas/generation.ts). */
export const MIN_SIDE = 16;
export const MAX_SIDE = 1920;

function assertSize(what: string, s: Size): void {
  if (!(Number.isFinite(s.width) && Number.isFinite(s.height) && s.width > 0 && s.height > 0)) {
    throw new RangeError(`${what} must have a positive width and height (got ${s.width}×${s.height})`);
  }
}

/** The pixel budget of a size preset: width × height. */
export function presetArea(preset: Size): number {
  assertSize("preset", preset);
  return preset.width * preset.height;
}

/** The output size for an input of `input` pixels within a pixel budget `area` (see the file comment). */
export function outputSizeForInput(input: Size, area: number): Size {
  assertSize("input", input);
  if (!(Number.isFinite(area) && area > 0)) throw new RangeError(`area must be positive (got ${area})`);
  const clamp = (v: number) => Math.min(MAX_SIDE, Math.max(MIN_SIDE, v));
  // ⌊⌊x/8⌋/2⌋·2·8 = 16·⌊x/16⌋ with x = √(area·h/w) for the height and √(area·w/h) for the width.
  return {
    width: clamp(SIZE_MULTIPLE * floorSqrtRatio(area * input.width, input.height, SIZE_MULTIPLE)),
    height: clamp(SIZE_MULTIPLE * floorSqrtRatio(area * input.height, input.width, SIZE_MULTIPLE)),
  };
}

/**
 * ⌊√(num/den) / m⌋, exactly: the largest n with (m·n)²·den ≤ num. The official code computes it in
 * floating point, where √(399360·480/832) comes out as 479.99999999999994, so an 832×480 image at the
 * 832×480 budget would shrink to 832×464; here it stays 832×480. Elsewhere the two agree.
 */
function floorSqrtRatio(num: number, den: number, m: number): number {
  let n = Math.floor(Math.sqrt(num / den) / m);
  // The float estimate is off by at most one either way; settle it with products that are exact in
  // doubles for integer sizes (all below 2^53).
  while (n > 0 && (m * n) ** 2 * den > num) n--;
  while ((m * (n + 1)) ** 2 * den <= num) n++;
  return n;
}

/** Same, with the budget of a size preset. */
export function outputSizeForPreset(input: Size, preset: Size): Size {
  return outputSizeForInput(input, presetArea(preset));
}

export type FitPlacement = {
  output: Size;
  /** The part of the input that is used, in input pixels (the whole image for "pad"). */
  source: Rect;
  /** Where the used part lands in the output, in output pixels (the whole frame for "crop"). */
  target: Rect;
};

/**
 * Where the input goes in an output frame of `output` pixels. The image is scaled uniformly (never
 * stretched) and centred; rectangles are rounded to whole pixels.
 */
export function fitPlacement(input: Size, output: Size, fit: ImageFit): FitPlacement {
  assertSize("input", input);
  assertSize("output", output);
  if (fit === "crop") {
    const scale = Math.max(output.width / input.width, output.height / input.height);
    const width = Math.min(input.width, Math.round(output.width / scale));
    const height = Math.min(input.height, Math.round(output.height / scale));
    return {
      output,
      source: { x: Math.round((input.width - width) / 2), y: Math.round((input.height - height) / 2), width, height },
      target: { x: 0, y: 0, width: output.width, height: output.height },
    };
  }
  const scale = Math.min(output.width / input.width, output.height / input.height);
  const width = Math.min(output.width, Math.max(1, Math.round(input.width * scale)));
  const height = Math.min(output.height, Math.max(1, Math.round(input.height * scale)));
  return {
    output,
    source: { x: 0, y: 0, width: input.width, height: input.height },
    target: { x: Math.round((output.width - width) / 2), y: Math.round((output.height - height) / 2), width, height },
  };
}
