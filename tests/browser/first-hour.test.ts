/**
 * A stranger's first hour in a real Chromium, against a real studio with one CPU worker running the tiny
 * model: an unknown job is a real 404, the login page does not claim a token that was never set, the
 * subtitle names what the worker runs on, the video tab explains video to video, no icon depends on an
 * emoji font, every link has a name, finished cards show their resolution, the job page's buttons sit in
 * even columns on a phone, and the header stays opaque over scrolled content.
 */
import sharp from "sharp";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../api/helpers.ts";
import { PHONE } from "./browser.ts";
import { startUiStudio, type UiStudio } from "./ui-studio.ts";

let studio: UiStudio;
let page: Page;

beforeAll(async () => {
  studio = await startUiStudio("first-hour", { redisDb: 1, worker: true });
  page = await studio.browser.newPage();
});
afterAll(async () => {
  await studio?.stop();
});

/** Characters that only an emoji font draws (🎲, ♻️, ⚠ …). */
const PICTOGRAPH = /\p{Extended_Pictographic}/u;

/** Every visible character on the page, including CSS ::before/::after content. */
async function renderedText(p: Page): Promise<string> {
  return await p.evaluate(() => {
    const parts = [document.body.innerText];
    for (const el of Array.from(document.querySelectorAll("*"))) {
      for (const pseudo of ["::before", "::after"]) {
        const content = getComputedStyle(el, pseudo).content;
        if (content && content !== "none" && content !== "normal") parts.push(content);
      }
    }
    return parts.join("\n");
  });
}

/** Links without an accessible name: no text, no aria-label, no labelled image inside. */
async function unnamedLinks(p: Page): Promise<string[]> {
  return await p.evaluate(() =>
    Array.from(document.querySelectorAll("a[href]"))
      .filter((a) => !(a.textContent ?? "").trim() && !a.getAttribute("aria-label")?.trim() && !a.querySelector("img[alt]:not([alt=''])"))
      .map((a) => a.outerHTML.slice(0, 120)),
  );
}

describe("a stranger's first hour", () => {
  it("answers an unknown job's page with HTTP 404 and the not-found page", async () => {
    const res = await page.goto(`${studio.url}/jobs/00000000-0000-0000-0000-000000000000`);
    expect(res?.status()).toBe(404);
    expect(await page.locator("h1").first().textContent()).toBe("Not found");
  });

  it("links the favicon, the icons and the web manifest from public/, all served", async () => {
    await page.goto(`${studio.url}/login`);
    const hrefs = await page.locator("head link[rel=icon], head link[rel=apple-touch-icon], head link[rel=manifest]").evaluateAll((links) =>
      links.map((l) => `${l.getAttribute("rel")} ${new URL((l as HTMLLinkElement).href).pathname}`),
    );
    expect(hrefs.sort()).toEqual(["apple-touch-icon /apple-touch-icon.png", "icon /favicon.ico", "icon /icon.svg", "manifest /site.webmanifest"]);
    const manifest = JSON.parse(await (await fetch(`${studio.url}/site.webmanifest`)).text()) as { icons: { src: string }[] };
    const files = [...hrefs.map((h) => h.split(" ")[1]), ...manifest.icons.map((i) => i.src)];
    for (const file of files) expect({ file, status: (await fetch(studio.url + file)).status }).toEqual({ file, status: 200 });
  });

  it("does not ask for a token on /login when none is set", async () => {
    await page.goto(`${studio.url}/login`);
    const text = await page.locator("main").innerText();
    expect(text).not.toContain("protected");
    expect(text).toContain("No sign-in needed");
    expect(await page.locator("input[type=password]").count()).toBe(0);
  });

  it("says the worker runs on the CPU, uses drawn icons, and names every link", async () => {
    await page.goto(studio.url);
    await page.locator("form[data-ready]").waitFor();
    const sub = await page.getByTestId("render-device").textContent();
    expect(sub).toContain("on the CPU");
    expect(sub).not.toContain("GPU");
    // The seed buttons are SVG drawings, and nothing on the page needs an emoji font.
    expect(await page.getByRole("button", { name: "Random seed" }).locator("svg").count()).toBe(1);
    expect(await page.getByRole("button", { name: "Reuse the last job's seed" }).locator("svg").count()).toBe(1);
    await page.locator("#prompt").fill("");
    await page.getByRole("button", { name: /Generate/ }).click();
    await page.locator(".field-error").first().waitFor();
    expect(PICTOGRAPH.exec(await renderedText(page))).toBeNull();
    expect(await unnamedLinks(page)).toEqual([]);
  });

  it("refuses a duration that is no duration next to the field, and keeps the previous one", async () => {
    await page.goto(studio.url);
    await page.locator("form[data-ready]").waitFor();
    const before = await page.getByTestId("duration-label").textContent();
    for (const typed of ["-3", "0", "abc"]) {
      const box = page.getByLabel("Duration in seconds");
      await box.fill("");
      if (typed === "abc") await box.pressSequentially(typed);
      else await box.fill(typed);
      await box.blur();
      await expect.poll(() => page.locator("#frames-error").textContent()).toContain("above 0");
      expect(await page.getByTestId("duration-label").textContent()).toBe(before);
      expect(before).not.toMatch(/^1 frame/);
    }
  });

  it("explains video to video on the video tab without the image tab's first-frame wording", async () => {
    await page.goto(`${studio.url}/image?mode=video`);
    await page.locator("form[data-ready]").waitFor();
    const hint = await page.getByTestId("image-mode").textContent();
    expect(hint).not.toContain("first frame");
    expect(hint).toContain("strength");
  });

  it("shows the resolution on finished image and text cards, and names their poster links", async () => {
    const png = await sharp({ create: { width: 64, height: 40, channels: 3, background: "#3a7" } }).png().toBuffer();
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(png)]), "green.png");
    const uploaded = await call<{ id: string }>(studio.url, "/api/uploads", { method: "POST", body: form });
    const image = await studio.createJob({ kind: "i2v", imageUploadId: uploaded.body.id, steps: 2, prompt: "a green field" });
    const text = await studio.createJob({ steps: 2, prompt: "a blue sky" });
    const doneImage = await studio.waitForJob(image.id, (j) => j.status === "succeeded" || j.status === "failed", 120_000);
    const doneText = await studio.waitForJob(text.id, (j) => j.status === "succeeded" || j.status === "failed", 120_000);
    expect([doneImage.status, doneText.status]).toEqual(["succeeded", "succeeded"]);
    expect(doneImage).toMatchObject({ phase: null });
    expect(doneImage.step).toBe(doneImage.totalSteps);

    await page.goto(`${studio.url}/gallery`);
    const meta = (id: string) => page.locator(`[data-job-id="${id}"] [data-testid=job-meta]`);
    await expect.poll(() => meta(image.id).textContent()).toMatch(/^\d+×\d+ · /);
    expect(await meta(text.id).textContent()).toMatch(/^160×96 · /);
    expect(await page.getByRole("link", { name: "Open “a green field”" }).count()).toBe(1);
    expect(await unnamedLinks(page)).toEqual([]);
  });

  it("lays the job page's buttons out in even columns on a phone, under an opaque header", async () => {
    const [job] = await studio.listJobs("?status=succeeded&limit=1");
    const phone = await studio.browser.newPage(PHONE);
    try {
      await phone.goto(`${studio.url}/jobs/${job.id}`);
      await phone.getByTestId("video-player").waitFor();
      const boxes = await phone.locator(".job-buttons > *").evaluateAll((els) =>
        els.map((el) => {
          const r = el.getBoundingClientRect();
          return { primary: el.matches(".button-primary, .button-danger"), width: Math.round(r.width), height: Math.round(r.height), fits: el.scrollWidth <= el.clientWidth };
        }),
      );
      const container = await phone.locator(".job-buttons").evaluate((el) => Math.round(el.getBoundingClientRect().width));
      expect(boxes.length).toBeGreaterThanOrEqual(4);
      for (const b of boxes) {
        expect(b.fits).toBe(true);
        expect(b.height).toBeLessThan(56);
        // The main action spans the row; the others share it in two equal halves.
        if (b.primary) expect(b.width).toBe(container);
        else expect(Math.abs(b.width - (container - 8) / 2)).toBeLessThanOrEqual(1);
      }
      await phone.mouse.wheel(0, 600);
      expect(await phone.locator(".topbar").evaluate((el) => getComputedStyle(el).backgroundColor)).toBe("rgb(14, 16, 20)");
    } finally {
      await phone.close();
    }
  });
});
