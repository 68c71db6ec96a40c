/**
 * The job page in a real browser, with a real worker running the engine on the tiny model: live phase,
 * step, ETA, preview and the progress in the tab title; the player once done (the MP4 seeks through
 * byte ranges); cancel; a real failure (a model installed without its graphs) with its message and retry;
 * the fallback to polling when the event stream is unavailable; delete behind a confirmation. Jobs that
 * must be watched while they run use real settings that take several seconds (33 frames, 100 steps).
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BROKEN_MODEL } from "../helpers/models.ts";
import { NO_OVERFLOW, screenshots } from "./browser.ts";
import { startUiStudio, type UiStudio } from "./ui-studio.ts";

/** Long enough to watch and cancel: 100 denoising steps of 33 frames, then 9 decode chunks. */
const LONG = { frames: 33, steps: 100 } as const;

let studio: UiStudio;
let page: Page;

beforeAll(async () => {
  studio = await startUiStudio("job", { redisDb: 15, worker: true, broken: true });
  page = await studio.browser.newPage();
});
afterAll(async () => {
  await studio?.stop();
});

const progressValue = () => page.locator("[data-testid=job-progress] [role=progressbar]").getAttribute("aria-valuenow");

describe("the job page", () => {
  it("follows a running job live, then plays the video with seeking", async () => {
    const job = await studio.createJob({ prompt: "a hot air balloon rising over a misty valley at sunrise", ...LONG, seed: 4242 });
    await page.goto(`${studio.url}/jobs/${job.id}`);
    await expect.poll(() => page.locator("[data-testid=job-progress]").textContent(), { timeout: 30_000 }).toMatch(/step \d+\/100 · ETA /);
    await page.getByTestId("job-preview").waitFor();
    await expect.poll(async () => Number(await progressValue())).toBeGreaterThan(0);
    await expect.poll(() => page.title()).toMatch(/^\d{1,3}% · Wan Studio$/);
    expect(await screenshots(page, "job-running")).toEqual(NO_OVERFLOW);

    const player = page.getByTestId("video-player");
    await player.waitFor({ timeout: 60_000 });
    expect(await player.getAttribute("src")).toBe(`/api/jobs/${job.id}/video`);
    // Seeking works because the server answers byte ranges.
    await page.waitForFunction(() => ((document.querySelector("video") as HTMLVideoElement | null)?.readyState ?? 0) >= 1);
    const seeked = await page.evaluate(async () => {
      const v = document.querySelector("video") as HTMLVideoElement;
      v.pause();
      const target = v.duration / 2;
      await new Promise<void>((resolve) => {
        v.addEventListener("seeked", () => resolve(), { once: true });
        v.currentTime = target;
      });
      return { target, now: v.currentTime };
    });
    expect(seeked.now).toBeCloseTo(seeked.target, 1);
    const range = await page.evaluate(async (url) => {
      const r = await fetch(url, { headers: { Range: "bytes=0-99" } });
      return { status: r.status, length: (await r.arrayBuffer()).byteLength };
    }, `/api/jobs/${job.id}/video`);
    expect(range).toEqual({ status: 206, length: 100 });

    const download = page.getByRole("link", { name: "Download MP4" });
    expect(await download.getAttribute("download")).toBe("wan-a-hot-air-balloon-rising-over-a-misty-valley-at-4242.mp4");
    expect(await page.getByTestId("job-seed").textContent()).toBe("4242");
    expect(await page.locator(".job-header .badge").textContent()).toBe("Done");
    expect(await page.locator("section[aria-labelledby=timings-heading]").textContent()).toContain("Denoise");
    expect(await page.title()).toMatch(/^a hot air balloon/);
    expect(await screenshots(page, "job-done")).toEqual(NO_OVERFLOW);
  });

  it("cancels a running job from its page", async () => {
    const job = await studio.createJob({ prompt: "a long train crossing a bridge", ...LONG });
    await page.goto(`${studio.url}/jobs/${job.id}`);
    await expect.poll(() => page.locator("[data-testid=job-progress]").textContent(), { timeout: 30_000 }).toMatch(/step \d+\/100/);
    await page.getByRole("button", { name: "Cancel", exact: true }).click();
    await expect.poll(() => page.locator(".job-header .badge").textContent(), { timeout: 15_000 }).toBe("Canceled");
    expect(await page.locator(".callout").textContent()).toContain("stopped before it finished");
    const canceled = await studio.waitForJob(job.id, (j) => j.status === "canceled");
    // The worker stopped it mid-denoise (it records its time spent once it has): no video.
    const stopped = await studio.waitForJob(job.id, (j) => j.timings?.denoise !== undefined);
    expect(stopped).toMatchObject({ status: "canceled", videoUrl: null });
    expect(canceled.step).toBeLessThan(LONG.steps);
  });

  it("shows why a job failed, and Retry queues a new job with the same settings", async () => {
    const job = await studio.createJob({ prompt: "a city at night", steps: 6, seed: 77, model: BROKEN_MODEL });
    await page.goto(`${studio.url}/jobs/${job.id}`);
    await page.getByTestId("job-error").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("job-error").textContent()).toContain(`${BROKEN_MODEL}: the model lacks a transformer, VAE, text encoder`);
    expect(await page.title()).toBe("Failed · Wan Studio");
    expect(await screenshots(page, "job-failed")).toEqual(NO_OVERFLOW);

    await page.getByRole("button", { name: "Retry" }).click();
    await page.waitForURL((url) => url.pathname.startsWith("/jobs/") && !url.pathname.endsWith(job.id));
    const retryId = new URL(page.url()).pathname.split("/").pop()!;
    const retry = (await studio.getJob(retryId)).body;
    expect(retry).toMatchObject({ retryOfId: job.id, prompt: job.prompt, seed: 77, model: BROKEN_MODEL });
    expect(await page.getByRole("link", { name: "retry of an earlier job" }).getAttribute("href")).toBe(`/jobs/${job.id}`);
  });

  it("keeps updating by polling when the event stream is unavailable", async () => {
    const polling = await studio.browser.newPage();
    await polling.route("**/api/jobs/*/events", (route) => route.abort());
    const job = await studio.createJob({ prompt: "snow falling on a quiet street", ...LONG });
    await polling.goto(`${studio.url}/jobs/${job.id}`);
    await polling.getByText(/Live updates reconnecting/).waitFor();
    await expect.poll(() => polling.locator("[data-testid=job-progress]").textContent(), { timeout: 30_000 }).toMatch(/step \d+\/100/);
    await polling.getByTestId("video-player").waitFor({ timeout: 60_000 });
    await polling.close();
  });

  it("deletes only after confirmation", async () => {
    const job = await studio.createJob({ prompt: "a lantern floating on a lake", steps: 2 });
    await studio.waitForJob(job.id, (j) => j.status === "succeeded");
    await page.goto(`${studio.url}/jobs/${job.id}`);
    await page.getByRole("button", { name: "Delete" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("Delete this job?");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect((await studio.getJob(job.id)).status).toBe(200);

    await page.getByRole("button", { name: "Delete" }).click();
    await dialog.getByRole("button", { name: "Delete" }).click();
    await page.waitForURL("**/gallery");
    expect((await studio.getJob(job.id)).status).toBe(404);
  });
});
