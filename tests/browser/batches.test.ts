/**
 * Batches in a real browser against a real studio with a real worker: the studio form's Variations and
 * "one per line" modes submit one batch, the gallery shows it as one group (in batch order, with the
 * seeds s, s+1, …), "Cancel all" and "Delete all" act on the whole group, the job page links to its
 * batch, and both pages fit a 360 px screen.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchJson } from "../../lib/jobs/schemas.ts";
import { call } from "../api/helpers.ts";
import { NO_OVERFLOW, screenshots } from "./browser.ts";
import { startUiStudio, type UiStudio } from "./ui-studio.ts";

let studio: UiStudio;
let page: Page;
let seeds: BatchJson;

beforeAll(async () => {
  studio = await startUiStudio("batches", { redisDb: 7, worker: true });
  page = await studio.browser.newPage();
});
afterAll(async () => {
  await studio?.stop();
});

async function openStudio(): Promise<void> {
  await page.goto(`${studio.url}/`);
  await page.locator("form[data-ready]").waitFor();
}

/** The batch the form just created, read from its "open the batch" link. */
async function createdBatch(): Promise<BatchJson> {
  const link = page.getByTestId("created-batch-link");
  await link.waitFor();
  const id = new URL((await link.getAttribute("href"))!, studio.url).searchParams.get("batch")!;
  return (await call<BatchJson>(studio.url, `/api/batches/${id}`)).body;
}

const group = (id: string) => page.locator(`section.batch-group[data-batch-id="${id}"]`);
const groupSeeds = (id: string) => group(id).locator("article.job-card").evaluateAll((els) => els.map((e) => /seed (\d+)/.exec(e.textContent ?? "")?.[1]));

describe("batches in the studio and the gallery", () => {
  it("Variations makes one batch of seeds s, s+1, …, shown as one group in the gallery", async () => {
    await openStudio();
    await page.locator("#prompt").fill("a paper boat on a pond");
    await page.locator("#seed").fill("40");
    await page.locator("#variations").fill("3");
    expect(await page.getByTestId("batch-summary").textContent()).toBe("3 videos, seeds 40 … 42.");
    expect(await screenshots(page, "studio-batch")).toEqual(NO_OVERFLOW);
    await page.getByRole("button", { name: /Generate/ }).click();
    seeds = await createdBatch();
    expect(seeds.jobs.map((j) => [j.prompt, j.seed])).toEqual([
      ["a paper boat on a pond", 40],
      ["a paper boat on a pond", 41],
      ["a paper boat on a pond", 42],
    ]);
    // A job made alone, next to the group.
    const single = await studio.createJob({ prompt: "a heron standing in the reeds", steps: 2, seed: 7 });
    for (const job of [...seeds.jobs, single]) await studio.waitForJob(job.id, (j) => j.status === "succeeded", 120_000);

    await page.goto(`${studio.url}/gallery`);
    await group(seeds.id).waitFor();
    expect(await groupSeeds(seeds.id)).toEqual(["40", "41", "42"]);
    expect(await group(seeds.id).getByTestId("batch-status").textContent()).toBe("3 done");
    expect(await group(seeds.id).locator("h2").textContent()).toContain("Batch · 3 videos");
    // Finished: nothing to cancel.
    expect(await group(seeds.id).getByRole("button", { name: "Cancel all" }).count()).toBe(0);
    expect(await page.locator(`article.job-card[data-job-id="${single.id}"]`).evaluate((e) => e.closest("section.batch-group") === null)).toBe(true);
    expect(await screenshots(page, "batches")).toEqual(NO_OVERFLOW);

    // The group folds away and comes back.
    await group(seeds.id).getByRole("button", { name: "Fold" }).click();
    await expect.poll(() => group(seeds.id).locator("article.job-card").count()).toBe(0);
    await group(seeds.id).getByRole("button", { name: "Show" }).click();
    await expect.poll(() => group(seeds.id).locator("article.job-card").count()).toBe(3);
  });

  it("the job page links to its batch, which the gallery shows on its own", async () => {
    await page.goto(`${studio.url}/jobs/${seeds.jobs[1].id}`);
    const link = page.getByTestId("job-batch-link");
    expect(await link.textContent()).toBe("video 2 of a batch");
    await link.click();
    await page.waitForURL(`**/gallery?batch=${seeds.id}`);
    await page.getByTestId("batch-filter").waitFor();
    await expect.poll(() => page.locator("article.job-card").count()).toBe(3);
  });

  it("one prompt per line makes a job per line; Cancel all and Delete all act on the whole group", async () => {
    // Held in the queue, so the group is still active when it is canceled.
    await call(studio.url, "/api/queue/pause", { method: "POST" });
    try {
      await openStudio();
      await page.getByText("One per line").click();
      await page.locator("#prompt").fill("a red kite\n\na blue kite");
      await page.locator("#seed").fill("");
      await page.locator("#variations").fill("2");
      expect(await page.getByTestId("batch-summary").textContent()).toBe("2 prompts × 2 = 4 videos, seeds s … s+1 from one random s.");
      await page.getByRole("button", { name: /Generate/ }).click();
      const kites = await createdBatch();
      const s = kites.jobs[0].seed!;
      expect(kites.jobs.map((j) => [j.prompt, j.seed])).toEqual([
        ["a red kite", s],
        ["a red kite", s + 1],
        ["a blue kite", s],
        ["a blue kite", s + 1],
      ]);

      await page.getByTestId("created-batch-link").click();
      await page.waitForURL(`**/gallery?batch=${kites.id}`);
      await group(kites.id).waitFor();
      expect(await group(kites.id).getByTestId("batch-status").textContent()).toBe("4 queued");
      expect(await group(kites.id).locator("h2").textContent()).toBe("Batch · 2 prompts · 4 videos");

      await group(kites.id).getByRole("button", { name: "Cancel all" }).click();
      await expect.poll(() => group(kites.id).getByTestId("batch-status").textContent()).toBe("4 canceled");
      expect((await call<BatchJson>(studio.url, `/api/batches/${kites.id}`)).body.counts.canceled).toBe(4);

      await group(kites.id).getByRole("button", { name: "Delete all" }).click();
      const dialog = page.getByRole("dialog");
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain("Every video of this batch (4 shown here)");
      await dialog.getByRole("button", { name: "Delete all" }).click();
      await group(kites.id).waitFor({ state: "detached" });
      expect((await call(studio.url, `/api/batches/${kites.id}`)).status).toBe(404);
      // The other batch is untouched.
      expect((await call<BatchJson>(studio.url, `/api/batches/${seeds.id}`)).body.size).toBe(3);
    } finally {
      await call(studio.url, "/api/queue/resume", { method: "POST" });
    }
  });

  it("a bad Variations value is refused next to the field, and nothing is sent", async () => {
    await openStudio();
    await page.locator("#prompt").fill("one\ntwo\nthree");
    await page.locator("#variations").fill("6");
    await page.getByText("One per line").click();
    await page.getByRole("button", { name: /Generate/ }).click();
    expect(await page.locator("#variations-error").textContent()).toContain("a batch makes at most 16 videos; 3 prompts × variations 6 is 18");
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("variations");
    expect(await page.getByTestId("created-batch-link").count()).toBe(0);
  });
});
