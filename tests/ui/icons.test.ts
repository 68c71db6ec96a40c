/**
 * public/: the committed favicon and PNG icons are exactly what cli/icon-render.ts makes of the drawing
 * (public/icon.svg), the web manifest lists files that exist at the sizes it claims, and the root
 * layout's metadata links them.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { ICON_FILES, PUBLIC_DIR, renderIcons } from "../../cli/icon-render.ts";
import { SITE_ICONS, SITE_MANIFEST } from "../../lib/web/site-icons.ts";
import { tempDir } from "../helpers/fixtures.ts";

const scratch = tempDir("icons");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The images inside an ICO file: its directory entries, each a PNG of the stated size. */
function icoImages(ico: Buffer): { size: number; data: Buffer }[] {
  expect([ico.readUInt16LE(0), ico.readUInt16LE(2)]).toEqual([0, 1]);
  return Array.from({ length: ico.readUInt16LE(4) }, (_, i) => {
    const entry = 6 + 16 * i;
    const size = ico.readUInt8(entry) || 256;
    const bytes = ico.readUInt32LE(entry + 8);
    const offset = ico.readUInt32LE(entry + 12);
    return { size, data: ico.subarray(offset, offset + bytes) };
  });
}

describe("the icons in public/", () => {
  it("are what the drawing renders to (run npm run icons after changing public/icon.svg)", async () => {
    await renderIcons(PUBLIC_DIR, scratch);
    for (const icon of ICON_FILES) {
      const committed = readFileSync(path.join(PUBLIC_DIR, icon.name));
      const rendered = readFileSync(path.join(scratch, icon.name));
      expect({ name: icon.name, same: committed.equals(rendered) }).toEqual({ name: icon.name, same: true });
    }
  });

  it("favicon.ico holds 16, 32 and 48 px PNGs", async () => {
    const images = icoImages(readFileSync(path.join(PUBLIC_DIR, "favicon.ico")));
    expect(images.map((i) => i.size)).toEqual([16, 32, 48]);
    for (const { size, data } of images) expect(await sharp(data).metadata()).toMatchObject({ format: "png", width: size, height: size });
  });

  it("the manifest's icons exist at the sizes it declares; the apple-touch-icon is opaque", async () => {
    const manifest = JSON.parse(readFileSync(path.join(PUBLIC_DIR, "site.webmanifest"), "utf8")) as {
      name: string;
      start_url: string;
      icons: { src: string; sizes: string; type: string; purpose?: string }[];
    };
    expect(manifest).toMatchObject({ name: "Wan Studio", start_url: "/" });
    expect(manifest.icons.some((i) => i.purpose === "maskable")).toBe(true);
    for (const icon of manifest.icons) {
      const file = path.join(PUBLIC_DIR, icon.src);
      expect(existsSync(file)).toBe(true);
      const meta = await sharp(file).metadata();
      if (icon.sizes !== "any") expect(`${meta.width}x${meta.height}`).toBe(icon.sizes);
      expect(icon.type).toBe(meta.format === "svg" ? "image/svg+xml" : "image/png");
    }
    const apple = await sharp(path.join(PUBLIC_DIR, "apple-touch-icon.png")).stats();
    expect(apple.isOpaque).toBe(true);
  });

  it("the linked icons and manifest are files in public/ (tests/browser/first-hour.test.ts fetches them from a page)", () => {
    const linked = [...SITE_ICONS.icon.map((i) => i.url), SITE_ICONS.apple.url, SITE_MANIFEST];
    expect(linked.sort()).toEqual(["/apple-touch-icon.png", "/favicon.ico", "/icon.svg", "/site.webmanifest"]);
    for (const url of linked) expect(existsSync(path.join(PUBLIC_DIR, url))).toBe(true);
  });
});
