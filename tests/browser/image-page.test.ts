/**
 * The image-to-video page in a real browser, with a real worker running the engine on the tiny models: an
 * uploaded PNG (picked, dropped or pasted) gets a preview of the exact crop or letterbox with the output size
 * computed from the image's aspect and the preset's pixel budget; the job carries the upload and the fit,
 * and its video comes out at the previewed size, starting from the VAE reconstruction of the image (checked
 * against the engine's own encode + decode of it). On the tiny image-to-video model the same upload goes
 * through CLIP and mask conditioning. The video-to-video tab takes a clip and a strength.
 */
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageLatent } from "../../lib/engine/conditioning.ts";
import { loadModel } from "../../lib/engine/model.ts";
import { resolveRuntime } from "../../lib/engine/runtime.ts";
import { decodeLatents } from "../../lib/engine/vae.ts";
import { prepareImage, rgbToTensor } from "../../lib/images/prepare.ts";
import type { JobJson } from "../../lib/jobs/schemas.ts";
import { decodeVideoFrames } from "../../lib/video/decode.ts";
import { createMp4Encoder } from "../../lib/video/encoder.ts";
import { videoChunkToRgbFrames } from "../../lib/video/frames.ts";
import { readGenerationSettings } from "../../lib/video/metadata.ts";
import { probeVideo } from "../../lib/video/probe.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { TINY_I2V, TINY_T2V } from "../helpers/models.ts";
import { NO_OVERFLOW, screenshots } from "./browser.ts";
import { clipMp4, scenePng } from "./media.ts";
import { startUiStudio, type UiStudio } from "./ui-studio.ts";

let studio: UiStudio;
let page: Page;
let png: Buffer;
const scratch = tempDir("image-page-files");

beforeAll(async () => {
  studio = await startUiStudio("image", { redisDb: 13, worker: true, i2v: true });
  page = await studio.browser.newPage();
  png = await scenePng(1920, 1080);
});
afterAll(async () => {
  await studio?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** A file the studio serves, saved under `scratch`. */
async function save(urlPath: string, name: string): Promise<string> {
  const res = await fetch(studio.url + urlPath);
  expect(res.status).toBe(200);
  const file = path.join(scratch, name);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

async function firstFrame(file: string, width: number, height: number): Promise<Uint8Array> {
  for await (const frame of decodeVideoFrames(file, { width, height, maxFrames: 1 })) return frame;
  throw new Error(`${file} has no frames`);
}

/** PSNR in dB of two rgb24 images, over all three channels or over BT.709 luma (the encoder's matrix). */
function psnr(a: Uint8Array, b: Uint8Array, over: "rgb" | "luma"): number {
  if (a.length !== b.length) throw new RangeError(`${a.length} vs ${b.length} bytes`);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.length; i += 3) {
    if (over === "rgb") {
      for (let c = 0; c < 3; c++) sum += (a[i + c] - b[i + c]) ** 2;
      n += 3;
    } else {
      const ya = 0.2126 * a[i] + 0.7152 * a[i + 1] + 0.0722 * a[i + 2];
      const yb = 0.2126 * b[i] + 0.7152 * b[i + 1] + 0.0722 * b[i + 2];
      sum += (ya - yb) ** 2;
      n += 1;
    }
  }
  return 10 * Math.log10((255 * 255) / (sum / n));
}

/** Picks the PNG in the form, chooses size, fit and (with two models installed) the model, and submits. */
async function submitImageJob(opts: { model: string; fit: "crop" | "pad"; prompt: string }): Promise<string> {
  await openImagePage();
  await page.setInputFiles("#image-input", { name: "dusk.png", mimeType: "image/png", buffer: png });
  await page.getByTestId("fit-preview").waitFor();
  await page.locator("#model").selectOption(opts.model);
  await page.locator('input[name="size"][value="160x96"]').check({ force: true });
  await page.getByText(opts.fit === "pad" ? "Pad" : "Crop", { exact: true }).click();
  await page.locator("#prompt").fill(opts.prompt);
  await page.locator("#prompt").press("Control+Enter");
  const link = page.getByTestId("created-job-link");
  await link.waitFor();
  return (await link.getAttribute("href"))!.split("/").pop()!;
}

async function openImagePage(query = ""): Promise<void> {
  await page.goto(`${studio.url}/image${query}`);
  await page.locator("form[data-ready]").waitFor();
}

describe("the image-to-video page", () => {
  it("accepts a PNG and previews the exact crop, then the letterbox, at the computed output size", async () => {
    await openImagePage();
    expect(await screenshots(page, "image-empty")).toEqual(NO_OVERFLOW);
    await page.setInputFiles("#image-input", { name: "dusk.png", mimeType: "image/png", buffer: png });
    const preview = page.getByTestId("fit-preview");
    await preview.waitFor();
    // Budget 160×96 = 15,360 px with a 16:9 image: W = 16·⌊√(15360·16/9)/16⌋ = 160, H = 16·⌊√(15360·9/16)/16⌋ = 80.
    expect(await preview.getAttribute("data-output")).toBe("160x80");
    expect(await page.getByTestId("fit-caption").textContent()).toBe("Output 160×80 · Crops 5 px from the top and bottom");
    // The crop overlay covers the 1920×960 band that is kept: 960/1080 of the image's height, centred.
    const stage = (await preview.locator(".fit-stage").boundingBox())!;
    const crop = (await preview.locator(".fit-crop").boundingBox())!;
    expect(crop.height / stage.height).toBeCloseTo(960 / 1080, 2);
    expect((crop.y - stage.y) / stage.height).toBeCloseTo(60 / 1080, 2);
    expect(await page.locator(".input-media-side").textContent()).toContain("dusk.png1920×1080");
    expect(await screenshots(page, "image-crop")).toEqual(NO_OVERFLOW);

    await page.getByText("Pad", { exact: true }).click();
    expect(await preview.getAttribute("data-fit")).toBe("pad");
    expect(await page.getByTestId("fit-caption").textContent()).toBe("Output 160×80 · Adds 9 px bars left and right");
    expect(await screenshots(page, "image-pad")).toEqual(NO_OVERFLOW);

    // A bigger budget gives a bigger output of the same shape.
    await page.locator('input[name="size"][value="128x128"]').check({ force: true });
    expect(await preview.getAttribute("data-output")).toBe("160x96");
  });

  it("submits the image with its fit; the video comes out at the previewed size and starts from the image's VAE reconstruction", async () => {
    const jobId = await submitImageJob({ model: TINY_T2V, fit: "pad", prompt: "the sun sets slowly behind the hills" });
    const job = await studio.waitForJob(jobId, (j) => j.status === "succeeded" || j.status === "failed");
    expect(job).toMatchObject({ status: "succeeded", kind: "i2v", model: TINY_T2V, params: { fit: "pad", width: 160, height: 96 } });
    expect(job.inputUploadId).toBeTruthy();

    await page.goto(`${studio.url}/jobs/${jobId}`);
    await page.getByTestId("video-player").waitFor();
    const settings = page.getByTestId("job-settings");
    await expect.poll(() => settings.textContent()).toContain("Output160×80");
    expect(await settings.textContent()).toContain("Pixel budget");

    // The reference: the image as the studio stored it, placed as the engine places it, VAE-encoded to one
    // latent frame and decoded on its own by the model the worker ran.
    const imageFile = await save(`/api/uploads/${job.inputUploadId}/file`, "input.png");
    const video = await save(job.videoUrl!, "i2v.mp4");
    expect(await probeVideo(video, { countFrames: true })).toMatchObject({ codec: "h264", width: 160, height: 80, frames: 9 });
    expect(await readGenerationSettings(video)).toMatchObject({ kind: "i2v", imageMode: "first-frame", model: TINY_T2V, fit: "pad" });
    const model = await loadModel(path.join(studio.modelsDir, TINY_T2V), await resolveRuntime({ executionProviders: ["cpu"], threads: 0 }));
    let reference: Uint8Array;
    let placed: Uint8Array;
    try {
      const prepared = await prepareImage(imageFile, { width: 160, height: 96 }, "pad");
      expect(prepared.output).toEqual({ width: 160, height: 80 });
      placed = prepared.frame.rgb;
      const latent = await imageLatent(await model.vaeEncoder(), rgbToTensor(prepared.frame), 80, 160);
      const chunks = [];
      for await (const chunk of decodeLatents(model.vae, latent, 1, 80 / model.vaeScale, 160 / model.vaeScale)) chunks.push(chunk);
      expect(chunks.map((c) => c.t)).toEqual([1]);
      reference = videoChunkToRgbFrames(chunks[0].frames, { frames: 1, height: 80, width: 160 })[0];
    } finally {
      await model.release();
    }
    const first = await firstFrame(video, 160, 80);
    // What H.264 at the studio's settings keeps of the reference on its own (x264 4:2:0 halves the chroma,
    // and the random-weight VAE's output is rich in colour detail): the best any first frame can do.
    const alone = path.join(scratch, "reference.mp4");
    const encoder = createMp4Encoder({ file: alone, width: 160, height: 80 });
    await encoder.writeFrame(reference);
    await encoder.finish();
    const ceiling = psnr(reference, await firstFrame(alone, 160, 80), "rgb");
    const measured = { luma: psnr(first, reference, "luma"), rgb: psnr(first, reference, "rgb"), rgbCeiling: ceiling, lumaVsPlacedImage: psnr(first, placed, "luma") };
    console.log(`first frame vs VAE reconstruction: ${JSON.stringify(Object.fromEntries(Object.entries(measured).map(([k, v]) => [k, Number(v.toFixed(2))])))} dB`);
    expect(measured.luma).toBeGreaterThanOrEqual(30);
    expect(measured.rgb).toBeGreaterThanOrEqual(ceiling - 1);
    // The check can tell frames apart: the image itself, before the VAE, is far from the first frame.
    expect(measured.lumaVsPlacedImage).toBeLessThan(20);
  });

  it("the same upload on the tiny image-to-video model runs the 36-channel path (CLIP and mask conditioning)", async () => {
    const jobId = await submitImageJob({ model: TINY_I2V, fit: "crop", prompt: "birds fly across the evening sky" });
    const job: JobJson = await studio.waitForJob(jobId, (j) => j.status === "succeeded" || j.status === "failed");
    expect(job).toMatchObject({ status: "succeeded", kind: "i2v", model: TINY_I2V, params: { fit: "crop", width: 160, height: 96 } });
    const video = await save(job.videoUrl!, "i2v-clip.mp4");
    expect(await probeVideo(video, { countFrames: true })).toMatchObject({ codec: "h264", width: 160, height: 80, frames: 9 });
    expect(await readGenerationSettings(video)).toMatchObject({ kind: "i2v", imageMode: "clip-conditioning", model: TINY_I2V, fit: "crop", inputWidth: 1920, inputHeight: 1080 });
  });

  it("takes a pasted image", async () => {
    await openImagePage();
    await page.evaluate(async (bytes) => {
      const file = new File([new Uint8Array(bytes)], "pasted.png", { type: "image/png" });
      const data = new DataTransfer();
      data.items.add(file);
      document.body.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
    }, [...png]);
    await page.getByTestId("fit-preview").waitFor();
    expect(await page.locator(".media-name").textContent()).toContain("pasted.png");
  });

  it("takes a dropped image", async () => {
    await openImagePage();
    await page.locator(".media-drop").evaluate(async (zone, bytes) => {
      const data = new DataTransfer();
      data.items.add(new File([new Uint8Array(bytes)], "dropped.png", { type: "image/png" }));
      zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
    }, [...png]);
    await page.getByTestId("fit-preview").waitFor();
    expect(await page.locator(".media-name").textContent()).toContain("dropped.png");
  });

  it("rejects a file that is not an image before uploading it", async () => {
    await openImagePage();
    await page.setInputFiles("#image-input", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
    await expect.poll(() => page.locator("#image-input-error").textContent()).toContain("not a supported image");
  });

  it("offers video to video: a clip and a strength", async () => {
    await openImagePage("?mode=video");
    expect(await page.getByRole("tab", { name: "Video → video" }).getAttribute("aria-selected")).toBe("true");
    await page.setInputFiles("#video-input", { name: "waves.mp4", mimeType: "video/mp4", buffer: await clipMp4(320, 180, 16) });
    await page.locator("video.source-video").waitFor();
    expect(await page.getByTestId("v2v-output").textContent()).toContain("Output 160×80");
    await page.locator("#strength").fill("0.4");
    await page.locator("#prompt").fill("turn the waves into molten gold");
    expect(await screenshots(page, "image-video")).toEqual(NO_OVERFLOW);
    await page.getByRole("button", { name: /Generate/ }).click();
    const link = page.getByTestId("created-job-link");
    await link.waitFor();
    const jobId = (await link.getAttribute("href"))!.split("/").pop()!;
    const { body } = await studio.getJob(jobId);
    expect(body).toMatchObject({ kind: "v2v", params: { strength: 0.4 } });
    expect(body.inputUploadId).toBeTruthy();
    // The worker runs it: the clip's shape within the budget, as the form said.
    const done = await studio.waitForJob(jobId, (j) => j.status === "succeeded" || j.status === "failed");
    expect(done.status).toBe("succeeded");
    const video = await save(done.videoUrl!, "v2v.mp4");
    expect(await probeVideo(video, { countFrames: true })).toMatchObject({ codec: "h264", width: 160, height: 80, frames: 9 });
    expect(await readGenerationSettings(video)).toMatchObject({ kind: "v2v", strength: 0.4, inputFrames: 16 });
  });
});
