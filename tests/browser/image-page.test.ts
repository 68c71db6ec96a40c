/**
 * The image-to-video page in a real browser: an uploaded PNG (picked, dropped or pasted) gets a preview of the
 * exact crop or letterbox with the output size computed from the image's aspect and the preset's pixel
 * budget; the job carries the upload and the fit, and its video comes out at the previewed size. The
 * video-to-video tab takes a clip and a strength.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO_OVERFLOW, screenshots } from "./browser.ts";
import { clipMp4, scenePng } from "./media.ts";
import { startUiStudio, type UiStudio } from "./ui-studio.ts";

let studio: UiStudio;
let page: Page;
let png: Buffer;

beforeAll(async () => {
  studio = await startUiStudio("image", { redisDb: 13, worker: true, stepMs: 60 });
  page = await studio.browser.newPage();
  png = await scenePng(1920, 1080);
});
afterAll(async () => {
  await studio?.stop();
});

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

  it("submits the image with its fit, and the video comes out at the previewed size", async () => {
    await openImagePage();
    await page.setInputFiles("#image-input", { name: "dusk.png", mimeType: "image/png", buffer: png });
    await page.getByTestId("fit-preview").waitFor();
    await page.locator('input[name="size"][value="160x96"]').check({ force: true });
    await page.getByText("Pad", { exact: true }).click();
    await page.locator("#prompt").fill("the sun sets slowly behind the hills");
    await page.locator("#prompt").press("Control+Enter");
    const link = page.getByTestId("created-job-link");
    await link.waitFor();
    const jobId = (await link.getAttribute("href"))!.split("/").pop()!;
    const job = await studio.waitForJob(jobId, (j) => j.status === "succeeded");
    expect(job).toMatchObject({ kind: "i2v", params: { fit: "pad", width: 160, height: 96 } });
    expect(job.inputUploadId).toBeTruthy();

    await page.goto(`${studio.url}/jobs/${jobId}`);
    await page.getByTestId("video-player").waitFor();
    const settings = page.getByTestId("job-settings");
    await expect.poll(() => settings.textContent()).toContain("Output160×80");
    expect(await settings.textContent()).toContain("Pixel budget");
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
  });
});
