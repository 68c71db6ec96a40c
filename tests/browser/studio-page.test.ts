/**
 * The text-to-video page in a real browser against a real studio (no worker here, so jobs stay queued):
 * the model's presets and default negative prompt, client-side validation with the shared schema's
 * messages, a server error shown next to its field, Ctrl+Enter creating a job that shows up in the queue
 * panel and on its own page, remembered settings, and cancelling from the queue panel.
 */
import { rmSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_NEGATIVE_PROMPT } from "../../lib/engine/text/negative-prompt.ts";
import { installTinyModel } from "../helpers/models.ts";
import { NO_OVERFLOW, screenshots } from "./browser.ts";
import { startUiStudio, type UiStudio } from "./ui-studio.ts";

let studio: UiStudio;
let page: Page;

beforeAll(async () => {
  studio = await startUiStudio("studio", { redisDb: 12 });
  page = await studio.browser.newPage();
});
afterAll(async () => {
  await studio?.stop();
});

async function openStudio(query = ""): Promise<void> {
  await page.goto(`${studio.url}/${query}`);
  // The form is interactive once the remembered settings have been applied (after hydration).
  await page.locator("form[data-ready]").waitFor();
}

describe("the studio page", () => {
  it("offers the model's size presets and shows its default negative prompt, in English on request", async () => {
    await openStudio();
    const presets = page.locator('input[name="size"]');
    expect(await presets.evaluateAll((els) => els.map((e) => e.getAttribute("aria-label")))).toEqual([
      "5:3 · 160×96",
      "3:5 · 96×160",
      "1:1 · 128×128",
      "5:4 · 144×112",
      "4:5 · 112×144",
    ]);
    expect(await presets.first().isChecked()).toBe(true);
    expect(await page.getByTestId("duration-label").textContent()).toBe("9 frames · 0.6 s");

    const negative = page.locator("#negativePrompt");
    expect(await negative.inputValue()).toBe(DEFAULT_NEGATIVE_PROMPT);
    await page.getByText("What it says").click();
    await expect.poll(() => page.locator(".disclosure p[lang=en]").first().textContent()).toContain("Bright tones, overexposed, static");

    await negative.fill("blurry, low quality");
    await page.getByRole("button", { name: "Reset to default" }).click();
    expect(await negative.inputValue()).toBe(DEFAULT_NEGATIVE_PROMPT);
  });

  it("validates with the shared schema before sending: errors next to the field, nothing created", async () => {
    await openStudio();
    await page.locator("#prompt").fill("");
    await page.getByRole("button", { name: /Generate/ }).click();
    await expect.poll(() => page.locator("#prompt-error").textContent()).toContain("prompt must not be empty");
    expect(await page.locator("#prompt").getAttribute("aria-invalid")).toBe("true");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("prompt");

    await page.locator("#prompt").fill("a lighthouse in a storm");
    await page.locator("details.advanced > summary").click();
    await page.locator("#steps").fill("500");
    await page.locator("#prompt").press("Control+Enter");
    await expect.poll(() => page.locator("#steps-error").textContent()).toContain("steps must be at most 100");
    expect(await page.locator("#prompt-error").count()).toBe(0);
    const shots = await screenshots(page, "studio-validation");
    expect(shots).toEqual(NO_OVERFLOW);
    expect(await studio.listJobs()).toEqual([]);

    // Fixing the field clears its error as you type.
    await page.locator("#steps").fill("4");
    await expect.poll(() => page.locator("#steps-error").count()).toBe(0);
  });

  it("creates a job with Ctrl+Enter, shows it in the queue panel and on its job page", async () => {
    await openStudio();
    await page.locator("#prompt").fill("a lighthouse in a storm, waves crashing on the rocks");
    await page.locator('input[name="size"][value="128x128"]').check({ force: true });
    await page.locator("#prompt").press("Control+Enter");
    const link = page.getByTestId("created-job-link");
    await link.waitFor();
    const jobId = (await link.getAttribute("href"))!.split("/").pop()!;

    const item = page.locator(`[data-testid=queue-panel] [data-job-id="${jobId}"]`);
    await item.waitFor();
    expect(await item.textContent()).toContain("a lighthouse in a storm");
    expect(await item.textContent()).toContain("Waiting in queue");

    const { status, body: job } = await studio.getJob(jobId);
    expect(status).toBe(200);
    expect(job).toMatchObject({ status: "queued", kind: "t2v", prompt: "a lighthouse in a storm, waves crashing on the rocks" });
    expect(job.params).toMatchObject({ width: 128, height: 128, steps: 4, frames: 9 });
    // Left at its default, the negative prompt is not sent: the server applies the model's default.
    expect(job.params.negativePrompt).toBeUndefined();
    expect(job.negativePrompt).toBe(DEFAULT_NEGATIVE_PROMPT);
    expect(await screenshots(page, "studio")).toEqual(NO_OVERFLOW);

    await link.click();
    await page.waitForURL(`**/jobs/${jobId}`);
    await expect.poll(() => page.locator("h1.job-prompt").textContent()).toBe("a lighthouse in a storm, waves crashing on the rocks");
    expect(await page.locator(".job-header .badge").textContent()).toBe("Queued");
    expect(await page.getByTestId("job-settings").textContent()).toContain("1:1 · 128×128");
    expect(await page.title()).toBe("Queued · Wan Studio");
    expect(await screenshots(page, "job-queued")).toEqual(NO_OVERFLOW);
  });

  it("remembers the last settings across a reload", async () => {
    await openStudio();
    await page.locator("#prompt").fill("remember this prompt");
    await page.locator("#seed").fill("1234");
    await page.waitForTimeout(400); // the debounced write
    await openStudio();
    expect(await page.locator("#prompt").inputValue()).toBe("remember this prompt");
    expect(await page.locator("#seed").inputValue()).toBe("1234");
    expect(await page.locator('input[name="size"][value="128x128"]').isChecked()).toBe(true);
  });

  it("shows a server error next to its field (the model was removed after the page loaded)", async () => {
    await openStudio();
    await page.locator("#prompt").fill("a quiet forest");
    const modelDir = path.join(studio.modelsDir, "wan-tiny");
    rmSync(modelDir, { recursive: true, force: true });
    try {
      await page.getByRole("button", { name: /Generate/ }).click();
      await expect.poll(() => page.locator("#model-error").textContent()).toMatch(/model/);
      expect(await page.locator("#model").getAttribute("aria-invalid")).toBe("true");
    } finally {
      await installTinyModel(studio.modelsDir);
    }
  });

  it("cancels a queued job from the queue panel", async () => {
    const job = await studio.createJob({ prompt: "a paper boat drifting down a gutter" });
    await openStudio();
    const item = page.locator(`[data-testid=queue-panel] .queue-list [data-job-id="${job.id}"]`).first();
    await item.waitFor();
    await item.getByRole("button", { name: /Cancel/ }).click();
    await page.locator(`.queue-finished [data-job-id="${job.id}"][data-status="canceled"]`).waitFor();
    expect((await studio.getJob(job.id)).body.status).toBe("canceled");
  });
});
