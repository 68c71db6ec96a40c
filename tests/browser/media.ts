/** Input files for the browser tests: a photo-like PNG and a short MP4, made on the spot. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { createMp4Encoder } from "../../lib/video/encoder.ts";

/** A width×height PNG with a sky gradient and a hill, so crop and letterbox are visible in screenshots. */
export async function scenePng(width: number, height: number): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#1d2b64"/><stop offset="0.6" stop-color="#f8a978"/><stop offset="1" stop-color="#f6d365"/>
    </linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#sky)"/>
    <circle cx="${width * 0.7}" cy="${height * 0.55}" r="${Math.min(width, height) * 0.12}" fill="#fff3c4"/>
    <path d="M0 ${height * 0.75} Q ${width * 0.3} ${height * 0.55} ${width * 0.6} ${height * 0.72} T ${width} ${height * 0.68} V ${height} H 0 Z" fill="#23395d"/>
  </svg>`;
  return await sharp(Buffer.from(svg)).png().toBuffer();
}

/** A short H.264 clip (frames at 16 fps) of a moving gradient. */
export async function clipMp4(width: number, height: number, frames: number): Promise<Buffer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "studio-clip-"));
  try {
    const file = path.join(dir, "clip.mp4");
    const encoder = createMp4Encoder({ file, width, height, preset: "ultrafast" });
    for (let i = 0; i < frames; i++) {
      const rgb = new Uint8Array(width * height * 3);
      for (let p = 0; p < width * height; p++) {
        rgb[p * 3] = ((p % width) + i * 8) % 256;
        rgb[p * 3 + 1] = Math.floor(p / width) % 256;
        rgb[p * 3 + 2] = 120;
      }
      await encoder.writeFrame(rgb);
    }
    await encoder.finish();
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
