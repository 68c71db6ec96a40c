/**
 * Continue a clip in a real browser, with a real worker on the tiny model: the Continue action on a
 * finished job's page (its prompt prefilled and edited), the new part's page with the chain panel (the
 * joined video playing the two parts as one, its download, the link back), the first part linking
 * forward, the gallery's chain badges, "Continued" chip and kind filter, and Reuse settings on a part (its
 * previous part's Continue form, filled in); at desktop, phone and 360 px width without sideways scrolling.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobJson } from "../../lib/jobs/schemas.ts";
import { NO_OVERFLOW, screenshots } from "./browser.ts";
import { startUiStudio, type UiStudio } from "./ui-studio.ts";

let studio: UiStudio;
let page: Page;
let first: JobJson;
let second: JobJson;

beforeAll(async () => {
  studio = await startUiStudio("continue", { redisDb: 10, worker: true });
  page = await studio.browser.newPage();
  const queued = await studio.createJob({ prompt: "a paper boat drifting down a rainy street", seed: 2024 });
  first = await studio.waitForJob(queued.id, (j) => j.status === "succeeded" || j.status === "failed", 90_000);
  expect(first.status).toBe("succeeded");
});
afterAll(async () => {
  await studio?.stop();
});

describe("continue a clip", () => {
  it("continues a finished clip from its page and shows the chain, playing the joined video", async () => {
    await page.goto(`${studio.url}/jobs/${first.id}`);
    await page.getByRole("button", { name: "Continue", exact: true }).click();
    const prompt = page.getByLabel("What happens next");
    expect(await prompt.inputValue()).toBe(first.prompt);
    await prompt.fill("the paper boat sails into a storm drain");
    await page.getByRole("button", { name: "Queue the next part" }).click();

    await page.waitForURL((url) => url.pathname.startsWith("/jobs/") && !url.pathname.endsWith(first.id));
    const id = page.url().split("/jobs/")[1];
    second = await studio.waitForJob(id, (j) => j.status === "succeeded" || j.status === "failed", 90_000);
    expect(second).toMatchObject({ status: "succeeded", prompt: "the paper boat sails into a storm drain", continuesJobId: first.id, chain: { part: 2, parts: 2 } });

    // The page follows the run to the end, then shows the joined chain (read once more after "succeeded").
    const chainVideo = page.getByTestId("chain-video");
    await chainVideo.waitFor({ timeout: 60_000 });
    expect(await chainVideo.getAttribute("src")).toBe(`/api/jobs/${id}/chain`);
    expect(await page.getByTestId("chain-panel").locator("h2").textContent()).toBe("Chain · part 2 of 2");
    // Two 9-frame parts sharing their join frame: 17 frames at 16 fps.
    await page.waitForFunction(() => ((document.querySelector("[data-testid=chain-video]") as HTMLVideoElement | null)?.readyState ?? 0) >= 1);
    const duration = await chainVideo.evaluate((v) => (v as HTMLVideoElement).duration);
    expect(duration).toBeCloseTo(17 / 16, 1);
    expect(await page.getByTestId("chain-previous").getAttribute("href")).toBe(`/jobs/${first.id}`);
    expect(await page.getByTestId("chain-download").getAttribute("download")).toMatch(/^wan-the-paper-boat-sails-into-a-storm-drain-\d+-chain\.mp4$/);
    expect(await page.locator(".job-header .badge").textContent()).toBe("Done");
    expect(await screenshots(page, "continue-job")).toEqual(NO_OVERFLOW);

    await page.getByTestId("chain-previous").click();
    await page.waitForURL(`**/jobs/${first.id}`);
    const next = page.getByTestId("chain-next");
    await next.waitFor();
    expect(await next.getAttribute("href")).toBe(`/jobs/${id}`);
    expect(await page.getByTestId("chain-panel").locator("h2").textContent()).toBe("Chain · part 1 of 2");
  });

  it("says what is wrong when the next part cannot be queued", async () => {
    await page.goto(`${studio.url}/jobs/${first.id}`);
    await page.getByRole("button", { name: "Continue", exact: true }).click();
    // Only spaces: the button stays off, so nothing is sent.
    await page.getByLabel("What happens next").fill("   ");
    expect(await page.getByRole("button", { name: "Queue the next part" }).isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Cancel", exact: true }).click();
    expect(await page.getByTestId("continue-form").count()).toBe(0);
  });

  it("shows each part's place in the gallery, with a link to its chain panel", async () => {
    await page.goto(`${studio.url}/gallery`);
    const badgeOf = (job: JobJson) => page.locator(`article.job-card[data-job-id="${job.id}"] [data-testid=chain-badge]`);
    await badgeOf(second).waitFor();
    expect(await badgeOf(second).textContent()).toBe("part 2 of 2");
    expect(await badgeOf(first).textContent()).toBe("part 1 of 2");
    expect(await badgeOf(first).getAttribute("href")).toBe(`/jobs/${first.id}#chain`);
    // Part 2 is stored as i2v, but the user made it with Continue: its chip and the kind filter say so.
    const chipOf = (job: JobJson) => page.locator(`article.job-card[data-job-id="${job.id}"] [data-testid=origin-chip]`);
    expect(await chipOf(second).textContent()).toBe("Continued");
    expect(await chipOf(first).textContent()).toBe("Text");
    expect(await screenshots(page, "continue-gallery")).toEqual(NO_OVERFLOW);

    await page.locator("#gallery-kind").selectOption("i2v");
    await page.getByTestId("gallery-empty").waitFor();
    await page.locator("#gallery-kind").selectOption("continued");
    await page.waitForURL((url) => url.searchParams.get("kind") === "continued");
    await chipOf(second).waitFor();
    expect(await page.locator("article.job-card").count()).toBe(1);
  });

  it("reuses a continuation's settings in its previous part's Continue form", async () => {
    await page.goto(`${studio.url}/gallery`);
    const reuse = page.locator(`article.job-card[data-job-id="${second.id}"]`).getByRole("link", { name: "Reuse settings" });
    expect(await reuse.getAttribute("href")).toBe(`/jobs/${first.id}?from=${second.id}#continue-form`);
    await reuse.click();
    await page.waitForURL((url) => url.pathname === `/jobs/${first.id}`);
    const prompt = page.getByLabel("What happens next");
    await prompt.waitFor();
    expect(await prompt.inputValue()).toBe(second.prompt);
    expect(await page.getByTestId("continue-hint").textContent()).toContain(`seed ${second.seed}`);
    expect(await screenshots(page, "continue-reuse")).toEqual(NO_OVERFLOW);
  });
});
