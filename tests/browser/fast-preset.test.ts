/**
 * A distilled model in the studio, in a real browser against a real studio and worker: picking the tiny rCM
 * model puts its recipe in the form (4 steps, the rCM sampler, guidance 1) and shows the "Fast (4 steps)"
 * preset, which restores the recipe after the fields were changed; a base model shows neither; the job it
 * creates runs on the worker and plays on its job page.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installTinyModel, TINY_RCM, TINY_T2V } from "../helpers/models.ts";
import { NO_OVERFLOW, screenshots } from "./browser.ts";
import { startUiStudio, type UiStudio } from "./ui-studio.ts";

let studio: UiStudio;
let page: Page;

beforeAll(async () => {
  studio = await startUiStudio("fast-preset", { redisDb: 3, worker: true });
  // Model folders are read on every request, so one installed now is offered at once.
  await installTinyModel(studio.modelsDir, { name: TINY_RCM, recipe: "rcm" });
  page = await studio.browser.newPage();
});
afterAll(async () => {
  await studio?.stop();
});

const checkedSolver = () => page.locator('input[name="solver"]:checked').getAttribute("value");

describe("a distilled model in the studio", () => {
  it("offers its recipe as the defaults and as the Fast preset; a base model offers neither", async () => {
    await page.goto(`${studio.url}/`);
    await page.locator("form[data-ready]").waitFor();
    await page.locator("#model").selectOption(TINY_RCM);
    const preset = page.getByRole("button", { name: "Fast (4 steps)" });
    await preset.waitFor();
    expect(await preset.getAttribute("aria-pressed")).toBe("true");
    await page.locator("details.advanced > summary").click();
    expect(await page.locator("#steps").inputValue()).toBe("4");
    expect(await page.locator("#guidance").inputValue()).toBe("1");
    expect(await checkedSolver()).toBe("rcm");

    await page.locator("#steps").fill("2");
    await page.locator('input[name="solver"][value="euler"]').check({ force: true });
    expect(await preset.getAttribute("aria-pressed")).toBe("false");
    await preset.click();
    expect(await page.locator("#steps").inputValue()).toBe("4");
    expect(await checkedSolver()).toBe("rcm");
    expect(await screenshots(page, "studio-fast-preset")).toEqual(NO_OVERFLOW);

    await page.locator("#model").selectOption(TINY_T2V);
    await expect.poll(() => page.getByTestId("fast-preset").count()).toBe(0);
    expect(await page.locator('input[name="solver"][value="rcm"]').count()).toBe(0);
    expect(await checkedSolver()).toBe("unipc");
  });

  it("generates with the recipe on the worker and plays the video", async () => {
    await page.goto(`${studio.url}/`);
    await page.locator("form[data-ready]").waitFor();
    await page.locator("#model").selectOption(TINY_RCM);
    await page.getByRole("button", { name: "Fast (4 steps)" }).click();
    await page.locator("#prompt").fill("a paper boat on a pond");
    await page.locator("#prompt").press("Control+Enter");
    const link = page.getByTestId("created-job-link");
    await link.waitFor();
    const jobId = (await link.getAttribute("href"))!.split("/").pop()!;
    const job = await studio.waitForJob(jobId, (j) => j.status === "succeeded" || j.status === "failed", 120_000);
    expect(job).toMatchObject({ status: "succeeded", model: TINY_RCM });
    expect(job.params).toMatchObject({ solver: "rcm", steps: 4, guidance: 1 });

    await link.click();
    await page.getByTestId("video-player").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("job-settings").textContent()).toContain("rCM");
  });
});
