/**
 * The studio's icons for browsers and home screens, rendered from the one drawing, public/icon.svg:
 * favicon.ico (16, 32 and 48 px PNGs inside), the web manifest's 192 and 512 px icons, a maskable 512 px
 * icon (the drawing inside the central safe zone on a full-bleed background, so launchers may cut any
 * shape), and the 180 px apple-touch-icon (opaque: iOS puts black behind transparency). The PNGs are
 * committed; `npm run icons` (cli/icons.ts) renders them again after a change to the drawing, and
 * tests/ui/icons.test.ts checks that the committed files are what the drawing gives.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";

/** The page background (app/globals.css --bg), behind the icon where a platform needs opaque pixels. */
export const ICON_BACKGROUND = "#0e1014";

/** Maskable icons keep their content inside the central 80 % circle (the W3C manifest's safe zone). */
const MASKABLE_CONTENT = 0.7;

export type IconFile = { name: string; size: number; render: (svg: Buffer) => Promise<Buffer> };

const png = (svg: Buffer, size: number) => sharp(svg, { density: (72 * size) / 32 }).resize(size, size).png({ compressionLevel: 9 }).toBuffer();

async function onBackground(svg: Buffer, size: number, content: number): Promise<Buffer> {
  const inner = Math.round(size * content);
  return await sharp({ create: { width: size, height: size, channels: 4, background: ICON_BACKGROUND } })
    .composite([{ input: await png(svg, inner), gravity: "centre" }])
    .flatten({ background: ICON_BACKGROUND })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/**
 * An ICO file holding PNG images (allowed since Windows Vista, read by every current browser): a 6-byte
 * header, one 16-byte directory entry per image, then the PNGs.
 */
export function icoFromPngs(images: { size: number; data: Buffer }[]): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0); // reserved
  header.writeUInt16LE(1, 2); // type 1: icon
  header.writeUInt16LE(images.length, 4);
  let offset = 6 + 16 * images.length;
  const entries = images.map(({ size, data }) => {
    const entry = Buffer.alloc(16);
    entry.writeUInt8(size >= 256 ? 0 : size, 0); // width (0 means 256)
    entry.writeUInt8(size >= 256 ? 0 : size, 1); // height
    entry.writeUInt16LE(1, 4); // colour planes
    entry.writeUInt16LE(32, 6); // bits per pixel
    entry.writeUInt32LE(data.length, 8);
    entry.writeUInt32LE(offset, 12);
    offset += data.length;
    return entry;
  });
  return Buffer.concat([header, ...entries, ...images.map((i) => i.data)]);
}

export const ICON_FILES: IconFile[] = [
  {
    name: "favicon.ico",
    size: 48,
    render: async (svg) => icoFromPngs(await Promise.all([16, 32, 48].map(async (size) => ({ size, data: await png(svg, size) })))),
  },
  { name: "icon-192.png", size: 192, render: (svg) => png(svg, 192) },
  { name: "icon-512.png", size: 512, render: (svg) => png(svg, 512) },
  { name: "icon-maskable-512.png", size: 512, render: (svg) => onBackground(svg, 512, MASKABLE_CONTENT) },
  { name: "apple-touch-icon.png", size: 180, render: (svg) => onBackground(svg, 180, 1) },
];

export const PUBLIC_DIR = path.resolve(import.meta.dirname, "..", "public");

/** Renders every icon from the drawing in `dir` into `outDir` (default: the same folder). */
export async function renderIcons(dir = PUBLIC_DIR, outDir = dir): Promise<string[]> {
  const svg = readFileSync(path.join(dir, "icon.svg"));
  const written: string[] = [];
  for (const icon of ICON_FILES) {
    const file = path.join(outDir, icon.name);
    writeFileSync(file, await icon.render(svg));
    written.push(file);
  }
  return written;
}

