import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { writePoster } from "../../lib/video/poster.ts";
import { movingGradientFrame } from "./synthetic-frames.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "video-poster-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 64×48 frame: left half pure red, right half pure blue. */
function twoColourFrame(): Uint8Array {
  const rgb = new Uint8Array(64 * 48 * 3);
  for (let p = 0; p < 64 * 48; p++) {
    const left = p % 64 < 32;
    rgb.set(left ? [230, 20, 20] : [20, 20, 230], p * 3);
  }
  return rgb;
}

describe("writePoster", () => {
  it.each(["jpeg", "webp"] as const)("writes a %s that sharp reads back with the right size and colours", async (format) => {
    const file = path.join(dir, `poster.${format === "jpeg" ? "jpg" : "webp"}`);
    const written = await writePoster(twoColourFrame(), 64, 48, file, { format });
    expect(written).toMatchObject({ file, width: 64, height: 48, format });
    const meta = await sharp(file).metadata();
    expect(meta.format).toBe(format);
    expect([meta.width, meta.height]).toEqual([64, 48]);
    expect(meta.size ?? written.bytes).toBe(written.bytes);

    const { data } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...data.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3)];
    // Away from the edge between the halves, lossy coding stays within a few levels.
    for (const [got, want] of [
      [at(8, 24), [230, 20, 20]],
      [at(56, 24), [20, 20, 230]],
    ]) {
      for (let c = 0; c < 3; c++) expect(Math.abs(got[c] - want[c])).toBeLessThanOrEqual(12);
    }
    expect(readdirSync(dir).filter((n) => n.includes(".partial"))).toEqual([]);
  });

  it("shrinks to maxWidth keeping the aspect ratio, and never enlarges", async () => {
    const frame = movingGradientFrame(64, 48, 0);
    const small = await writePoster(frame, 64, 48, path.join(dir, "small.jpg"), { format: "jpeg", maxWidth: 32 });
    expect([small.width, small.height]).toEqual([32, 24]);
    const meta = await sharp(small.file).metadata();
    expect([meta.width, meta.height]).toEqual([32, 24]);
    const same = await writePoster(frame, 64, 48, path.join(dir, "same.webp"), { format: "webp", maxWidth: 640 });
    expect([same.width, same.height]).toEqual([64, 48]);
  });

  it("replaces an existing poster atomically and rejects bad input without touching it", async () => {
    const file = path.join(dir, "replace.jpg");
    writeFileSync(file, "old");
    await writePoster(movingGradientFrame(64, 48, 1), 64, 48, file, { format: "jpeg" });
    expect((await sharp(file).metadata()).format).toBe("jpeg");

    await expect(writePoster(new Uint8Array(10), 64, 48, file, { format: "jpeg" })).rejects.toThrow(/expected 9216 bytes/);
    await expect(writePoster(movingGradientFrame(64, 48, 1), 64, 48, path.join(dir, "x.jpg"), { format: "webp" })).rejects.toThrow(
      /extension \.jpg/,
    );
    expect((await sharp(file).metadata()).format).toBe("jpeg");
    expect(readdirSync(dir).filter((n) => n.includes(".partial") || n === "x.jpg")).toEqual([]);
  });
});
