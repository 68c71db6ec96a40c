/**
 * The gallery in a real browser: the history as a grid with posters and status badges, "load more" over
 * the cursor, prompt search and the status and kind filters (kept in the URL), a video playing on hover,
 * "reuse settings" filling the studio form, and delete behind a confirmation dialog.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobJson } from "../../lib/jobs/schemas.ts";
import { call } from "../api/helpers.ts";
import { BROKEN_MODEL } from "../helpers/models.ts";
import { NO_OVERFLOW, screenshots } from "./browser.ts";
import { scenePng } from "./media.ts";
import { startUiStudio, type UiStudio } from "./ui-studio.ts";

let studio: UiStudio;
let page: Page;
let fox: JobJson;
let failed: JobJson;
let i2v: JobJson;
const fillers: JobJson[] = [];

beforeAll(async () => {
  studio = await startUiStudio("gallery", { redisDb: 14, worker: true, broken: true });
  page = await studio.browser.newPage();

  const empty = await studio.browser.newPage();
  await empty.goto(`${studio.url}/gallery`);
  await empty.getByTestId("gallery-empty").waitFor();
  expect(await empty.getByTestId("gallery-empty").textContent()).toContain("No videos yet");
  await screenshots(empty, "gallery-empty");
  await empty.close();

  // 22 quick jobs first (older; one-frame videos, one step), then the three the tests look at (newest).
  for (let i = 0; i < 22; i++) fillers.push(await studio.createJob({ prompt: `test pattern number ${i + 1}`, steps: 1, frames: 1 }));
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(await scenePng(640, 360))], { type: "image/png" }), "dusk.png");
  const upload = await call<{ id: string }>(studio.url, "/api/uploads", { method: "POST", body: form });
  i2v = await studio.createJob({ kind: "i2v", imageUploadId: upload.body.id, fit: "crop", prompt: "birds fly across the evening sky", steps: 2 });
  // Fails for real: the worker cannot load a model installed without its graphs.
  failed = await studio.createJob({ prompt: "neon city street in the rain", steps: 4, model: BROKEN_MODEL });
  fox = await studio.createJob({ prompt: "a red fox trotting through fresh snow", steps: 5, guidance: 4.5, seed: 31337 });
  for (const job of [...fillers, i2v, failed, fox]) {
    await studio.waitForJob(job.id, (j) => j.status === "succeeded" || j.status === "failed", 120_000);
  }
});
afterAll(async () => {
  await studio?.stop();
});

const cards = () => page.locator("[data-testid=gallery-grid] article.job-card");
const cardOf = (job: JobJson) => page.locator(`article.job-card[data-job-id="${job.id}"]`);

describe("the gallery", () => {
  it("lists jobs newest first with posters and status badges, and loads more", async () => {
    await page.goto(`${studio.url}/gallery`);
    await cards().first().waitFor();
    expect(await cards().count()).toBe(24);
    expect(await cards().first().getAttribute("data-job-id")).toBe(fox.id);
    expect(await cardOf(fox).locator(".badge").textContent()).toBe("Done");
    expect(await cardOf(fox).locator("img").getAttribute("src")).toBe(`/api/jobs/${fox.id}/poster`);
    expect(await cardOf(failed).locator(".badge").textContent()).toBe("Failed");
    expect(await cardOf(failed).textContent()).toContain("the model lacks a transformer, VAE, text encoder");
    expect(await screenshots(page, "gallery")).toEqual(NO_OVERFLOW);

    await page.getByRole("button", { name: "Load more" }).click();
    await expect.poll(() => cards().count()).toBe(25);
    await page.getByRole("button", { name: "Load more" }).waitFor({ state: "detached" });
    expect(await cards().last().getAttribute("data-job-id")).toBe(fillers[0].id);
  });

  it("plays a video on hover, and with its play button", async () => {
    await page.goto(`${studio.url}/gallery`);
    await cardOf(fox).locator(".job-media").hover();
    const video = cardOf(fox).locator("video");
    await video.waitFor();
    expect(await video.getAttribute("src")).toBe(`/api/jobs/${fox.id}/video`);
    await page.mouse.move(0, 0);
    await video.waitFor({ state: "detached" });
    // Without hover (touch, keyboard) the play button starts and stops it.
    await cardOf(fox).getByRole("button", { name: "Play preview" }).focus();
    await page.keyboard.press("Enter");
    await video.waitFor();
    await page.keyboard.press("Enter");
    await video.waitFor({ state: "detached" });
    expect(await cardOf(fox).getByRole("button", { name: "Play preview" }).count()).toBe(1);
  });

  it("searches prompts and filters by status and kind, keeping the filters in the URL", async () => {
    await page.goto(`${studio.url}/gallery`);
    await page.locator("#gallery-q").fill("fox");
    await expect.poll(() => cards().evaluateAll((els) => els.map((e) => e.getAttribute("data-job-id")))).toEqual([fox.id]);
    expect(new URL(page.url()).searchParams.get("q")).toBe("fox");

    await page.locator("#gallery-q").fill("");
    await page.locator("#gallery-status").selectOption("failed");
    await expect.poll(() => cards().evaluateAll((els) => els.map((e) => e.getAttribute("data-job-id")))).toEqual([failed.id]);
    expect(new URL(page.url()).searchParams.get("status")).toBe("failed");

    await page.locator("#gallery-status").selectOption("");
    await page.locator("#gallery-kind").selectOption("i2v");
    await expect.poll(() => cards().evaluateAll((els) => els.map((e) => e.getAttribute("data-job-id")))).toEqual([i2v.id]);

    // A reload shows the same view; no match says so and offers to clear.
    await page.goto(`${studio.url}/gallery?kind=i2v&q=nothing-like-this`);
    await page.getByTestId("gallery-empty").waitFor();
    expect(await page.getByTestId("gallery-empty").textContent()).toContain("No videos match");
    await page.getByRole("button", { name: "Clear filters" }).click();
    await expect.poll(() => cards().count()).toBe(24);
  });

  it("reuse settings fills the studio form with the job's settings and seed", async () => {
    await page.goto(`${studio.url}/gallery`);
    await cardOf(fox).getByRole("link", { name: "Reuse settings" }).click();
    await page.waitForURL(`**/?from=${fox.id}`);
    await page.locator("form[data-ready]").waitFor();
    expect(await page.locator("#prompt").inputValue()).toBe("a red fox trotting through fresh snow");
    expect(await page.locator("#steps").inputValue()).toBe("5");
    expect(await page.locator("#guidance").inputValue()).toBe("4.5");
    expect(await page.locator("#seed").inputValue()).toBe("31337");
    expect(await page.locator("details.advanced").getAttribute("open")).not.toBeNull();
  });

  it("reuse settings of an image job brings back its image", async () => {
    await page.goto(`${studio.url}/gallery?kind=i2v`);
    await cardOf(i2v).getByRole("link", { name: "Reuse settings" }).click();
    await page.waitForURL(`**/image?from=${i2v.id}`);
    await page.getByTestId("fit-preview").waitFor();
    expect(await page.locator("#prompt").inputValue()).toBe("birds fly across the evening sky");
    expect(await page.getByTestId("fit-preview").getAttribute("data-output")).toBe("160x80");
  });

  it("asks before deleting, and deletes on confirmation", async () => {
    const victim = fillers[21];
    await page.goto(`${studio.url}/gallery`);
    await cardOf(victim).getByRole("button", { name: /Delete/ }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("Delete this video?");
    expect(await dialog.textContent()).toContain(victim.prompt);
    await screenshots(page, "gallery-delete", { fullPage: false });
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect(await cardOf(victim).count()).toBe(1);

    await cardOf(victim).getByRole("button", { name: /Delete/ }).click();
    await dialog.getByRole("button", { name: "Delete" }).click();
    await cardOf(victim).waitFor({ state: "detached" });
    expect((await studio.getJob(victim.id)).status).toBe(404);
  });
});
