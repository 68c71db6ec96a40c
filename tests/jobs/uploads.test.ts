/**
 * Upload intake with real files: images decoded by sharp (EXIF orientation applied, kept in their format,
 * pixel cap checked from the header before decoding), videos encoded by the studio's own encoder and
 * probed by ffprobe, and the files that must be refused.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { crc32 } from "node:zlib";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { StudioError } from "../../lib/errors.ts";
import { intakeUpload, sniffMedia } from "../../lib/jobs/uploads.ts";
import { createMp4Encoder } from "../../lib/video/encoder.ts";
import { createTestJobsContext, type TestJobsContext } from "../helpers/jobs-context.ts";
import { tempDir } from "../helpers/fixtures.ts";

let ctx: TestJobsContext;
let scratch: string;
beforeAll(async () => {
  ctx = await createTestJobsContext({ redisUrl: inject("redisUrl"), redisDb: 6, prefix: "jobs-uploads" });
  scratch = tempDir("uploads-src");
});
afterAll(async () => {
  await ctx?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function refusal(data: Uint8Array): Promise<StudioError> {
  try {
    await intakeUpload(ctx, { data, name: "x" });
  } catch (e) {
    if (e instanceof StudioError) return e;
    throw e;
  }
  throw new Error("expected the upload to be refused");
}

/** A raw rgb image: left half red, right half blue. */
function halves(width: number, height: number): Buffer {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      if (x < width / 2) rgb[p] = 255;
      else rgb[p + 2] = 255;
    }
  }
  return rgb;
}

async function encodeVideo(name: string, width: number, height: number, frames: number, fps = 16): Promise<Buffer> {
  const file = path.join(scratch, name);
  const encoder = createMp4Encoder({ file, width, height, fps, preset: "ultrafast" });
  const rgb = new Uint8Array(width * height * 3).fill(90);
  for (let i = 0; i < frames; i++) await encoder.writeFrame(rgb);
  await encoder.finish();
  return readFileSync(file);
}

describe("image uploads", () => {
  it("stores a PNG as PNG with its size, a thumbnail, and the client's name for display only", async () => {
    const png = await sharp(halves(64, 40), { raw: { width: 64, height: 40, channels: 3 } }).png().toBuffer();
    const upload = await intakeUpload(ctx, { data: png, name: "../../secret/holiday.png" });
    expect(upload).toMatchObject({ kind: "image", mime: "image/png", width: 64, height: 40, originalName: "holiday.png", frames: null });
    const row = await ctx.db.upload.findUniqueOrThrow({ where: { id: upload.id } });
    expect(row.file).toBe(`${upload.id}.png`);
    const stored = ctx.storage.uploadPath(upload.id, row.file);
    expect(await sharp(stored).metadata()).toMatchObject({ format: "png", width: 64, height: 40 });
    expect(await sharp(ctx.storage.uploadPath(upload.id, row.thumbFile!)).metadata()).toMatchObject({ format: "jpeg", width: 64, height: 40 });
    expect(upload.thumbnailUrl).toBe(`/api/uploads/${upload.id}/thumbnail`);
  });

  it("applies the EXIF orientation of a JPEG (a phone photo stored sideways comes out upright)", async () => {
    // Stored 60x30 with the red half on the left; orientation 6 says "rotate 90° clockwise to view".
    const jpeg = await sharp(halves(60, 30), { raw: { width: 60, height: 30, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const upload = await intakeUpload(ctx, { data: jpeg, name: "photo.jpg" });
    expect(upload).toMatchObject({ kind: "image", mime: "image/jpeg", width: 30, height: 60 });
    const row = await ctx.db.upload.findUniqueOrThrow({ where: { id: upload.id } });
    const { data, info } = await sharp(ctx.storage.uploadPath(upload.id, row.file)).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
    // After the clockwise turn the left (red) half is on top, the blue half at the bottom.
    const top = at(15, 10);
    const bottom = at(15, 50);
    expect(top[0]).toBeGreaterThan(200);
    expect(top[2]).toBeLessThan(60);
    expect(bottom[2]).toBeGreaterThan(200);
    expect(bottom[0]).toBeLessThan(60);
  });

  it("keeps a large JPEG photo a JPEG of about its size, not a PNG ten times larger, and a WebP a WebP", async () => {
    // Noise compresses like a detailed photo: the PNG of this picture is several times the JPEG.
    const side = 2000;
    const noise = Buffer.alloc(side * side * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    const jpeg = await sharp(noise, { raw: { width: side, height: side, channels: 3 } }).blur(1.2).jpeg({ quality: 90 }).toBuffer();
    const upload = await intakeUpload(ctx, { data: jpeg, name: "photo.jpg" });
    expect(upload).toMatchObject({ kind: "image", mime: "image/jpeg", width: side, height: side });
    const row = await ctx.db.upload.findUniqueOrThrow({ where: { id: upload.id } });
    expect(row.file).toBe(`${upload.id}.jpg`);
    const stored = readFileSync(ctx.storage.uploadPath(upload.id, row.file));
    expect((await sharp(stored).metadata()).format).toBe("jpeg");
    expect(stored.length).toBeLessThan(jpeg.length * 1.2);
    expect(upload.bytes).toBe(stored.length);

    const webp = await sharp(noise.subarray(0, 64 * 48 * 3), { raw: { width: 64, height: 48, channels: 3 } }).webp().toBuffer();
    const w = await intakeUpload(ctx, { data: webp, name: "x.webp" });
    expect(w).toMatchObject({ kind: "image", mime: "image/webp", width: 64, height: 48 });
    expect((await sharp(ctx.storage.uploadPath(w.id, `${w.id}.webp`)).metadata()).format).toBe("webp");
  });

  it("refuses a file that is not an image or video (415), a truncated PNG (400) and an empty file (400)", async () => {
    const text = await refusal(Buffer.from("just some text, not a picture"));
    expect([text.status, text.field]).toEqual([415, "file"]);
    const png = await sharp(halves(64, 64), { raw: { width: 64, height: 64, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    const truncated = await refusal(png.subarray(0, Math.floor(png.length / 2)));
    expect(truncated.status).toBe(400);
    expect(truncated.message).toMatch(/cannot be (read|decoded)/);
    // libvips' own words ("vipspng: libpng read error") are no help to whoever sent the file.
    expect(truncated.message).not.toMatch(/vips|libpng/);
    expect((await refusal(new Uint8Array(0))).status).toBe(400);
  });

  it("refuses an image over the pixel cap from its header, before decoding it", async () => {
    // A 1x1 PNG whose header claims 10000x5000 (50 MP): a decompression bomb must not be decoded.
    const png = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: "#808080" } }).png().toBuffer());
    const ihdr = png.indexOf("IHDR");
    png.writeUInt32BE(10_000, ihdr + 4);
    png.writeUInt32BE(5_000, ihdr + 8);
    png.writeUInt32BE(crc32(png.subarray(ihdr, ihdr + 17)), ihdr + 17);
    const e = await refusal(png);
    expect(e.status).toBe(422);
    expect(e.message).toContain("10000x5000");
  });
});

describe("video uploads", () => {
  it("stores an MP4 with what ffprobe counted, and a thumbnail of its first frame", async () => {
    const mp4 = await encodeVideo("ok.mp4", 96, 64, 9);
    const upload = await intakeUpload(ctx, { data: mp4, name: "clip.mp4" });
    expect(upload).toMatchObject({ kind: "video", mime: "video/mp4", width: 96, height: 64, frames: 9, fps: 16, bytes: mp4.length });
    const row = await ctx.db.upload.findUniqueOrThrow({ where: { id: upload.id } });
    expect(row.file).toBe(`${upload.id}.mp4`);
    expect(readFileSync(ctx.storage.uploadPath(upload.id, row.file)).equals(mp4)).toBe(true);
    expect(await sharp(ctx.storage.uploadPath(upload.id, row.thumbFile!)).metadata()).toMatchObject({ format: "jpeg", width: 96, height: 64 });
  });

  it("refuses videos over the limits (422) and leaves no file behind", async () => {
    const before = readdirSync(ctx.storage.uploadsDir).length;
    const long = await refusal(await encodeVideo("long.mp4", 32, 32, 88, 8)); // 11 s
    expect([long.status, long.field]).toEqual([422, "file"]);
    expect(long.message).toMatch(/11\.00 s long \(limit 10 s\)/);
    const wide = await refusal(await encodeVideo("wide.mp4", 2000, 16, 2));
    expect(wide.message).toMatch(/2000x16 \(limit 1920 px per side\)/);
    const many = await refusal(await encodeVideo("many.mp4", 32, 32, 301, 31)); // 9.7 s, 301 frames
    expect(many.message).toMatch(/301 frames \(limit 300\)/);
    expect(readdirSync(ctx.storage.uploadsDir)).toHaveLength(before);
  });

  it("refuses a file that only looks like an MP4 (400) without naming the server's temporary file", async () => {
    const fake = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from("ftypisom"), Buffer.alloc(2000, 7)]);
    expect(sniffMedia(fake)).toMatchObject({ kind: "video", ext: "mp4" });
    const e = await refusal(fake);
    expect(e.status).toBe(400);
    expect(e.message).not.toContain(ctx.storage.uploadsDir);
    expect(e.message).not.toContain(".partial");
    expect(readdirSync(ctx.storage.uploadsDir).some((f) => f.includes(".partial"))).toBe(false);
    expect(existsSync(ctx.storage.uploadsDir)).toBe(true);
  });
});
