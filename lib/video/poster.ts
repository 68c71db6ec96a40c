/**
 * The still image shown before a video plays (the `<video poster>` and the gallery thumbnail), made
 * from one rgb24 frame with sharp and published atomically like the video itself.
 */
import path from "node:path";
import sharp from "sharp";
import { writeFileAtomically } from "./atomic-file.ts";

export type PosterFormat = "jpeg" | "webp";

export type PosterOptions = {
  format: PosterFormat;
  /** Shrink (never enlarge) to at most this width, keeping the aspect ratio. */
  maxWidth?: number;
  /** Encoder quality 1–100; 82 keeps gradients clean at a fraction of the bytes of 95. */
  quality?: number;
};

export type WrittenPoster = { file: string; width: number; height: number; bytes: number; format: PosterFormat };

export async function writePoster(
  rgb: Uint8Array,
  width: number,
  height: number,
  file: string,
  options: PosterOptions,
): Promise<WrittenPoster> {
  const { format, maxWidth, quality = 82 } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`writePoster: width and height must be positive integers, got ${width}x${height}`);
  }
  if (rgb.byteLength !== width * height * 3) {
    throw new RangeError(`writePoster: expected ${width * height * 3} bytes (${width}x${height} rgb24), got ${rgb.byteLength}`);
  }
  if (format !== "jpeg" && format !== "webp") throw new RangeError(`writePoster: format must be "jpeg" or "webp", got ${format}`);
  if (maxWidth !== undefined && (!Number.isInteger(maxWidth) || maxWidth <= 0)) {
    throw new RangeError(`writePoster: maxWidth must be a positive integer, got ${maxWidth}`);
  }
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new RangeError(`writePoster: quality must be an integer from 1 to 100, got ${quality}`);
  }
  // An explicit extension mismatch (poster.jpg written as WebP) would confuse browsers' type sniffing
  // of static files; catch it here rather than serve it.
  const ext = path.extname(file).toLowerCase();
  const expected = format === "jpeg" ? [".jpg", ".jpeg"] : [".webp"];
  if (ext && !expected.includes(ext)) {
    throw new RangeError(`writePoster: ${file} has extension ${ext}, but the format is ${format}`);
  }

  let image = sharp(rgb, { raw: { width, height, channels: 3 } });
  if (maxWidth !== undefined && maxWidth < width) image = image.resize({ width: maxWidth, kernel: "lanczos3" });
  image = format === "jpeg" ? image.jpeg({ quality, mozjpeg: true }) : image.webp({ quality });
  const { data, info } = await image.toBuffer({ resolveWithObject: true });
  await writeFileAtomically(file, data);
  return { file, width: info.width, height: info.height, bytes: data.length, format };
}
