/**
 * End to end with the real engine: `npm run studio` on a fresh data folder (it prepares the built-in tiny
 * model), a prompt typed into the studio page, and the video playing on the job page.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import readline from "node:readline";
import { afterAll, describe, expect, inject, it } from "vitest";
import { tempDir } from "../helpers/fixtures.ts";
import { redisDbUrl, waitFor } from "../helpers/jobs-context.ts";
import { freePort } from "../helpers/ports.ts";
import { openBrowser, screenshots, type TestBrowser } from "./browser.ts";

const dataDir = tempDir("studio-e2e");
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("generate a video end to end with the real engine", () => {
  let browser: TestBrowser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it("types a prompt, generates, and plays the video on the job page", { timeout: 900_000 }, async () => {
    const port = await freePort();
    const studio = spawn(process.execPath, ["--import", "tsx", "cli/studio.ts"], {
      env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1", REDIS_URL: redisDbUrl(inject("redisUrl"), 13) },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const lines: string[] = [];
    for (const s of [studio.stdout, studio.stderr]) readline.createInterface({ input: s! }).on("line", (l) => lines.push(l));
    try {
      await waitFor("the studio to listen", () => (lines.some((l) => l.includes("studio at http://")) ? true : undefined), 600_000, 250);
      browser = await openBrowser();
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.locator("form[data-ready]").waitFor({ timeout: 60_000 });
      await page.locator("#prompt").fill("a small red ball bouncing on a wooden floor");
      await page.locator("#prompt").press("Control+Enter");
      const link = page.getByTestId("created-job-link");
      await link.waitFor();
      await link.click();
      await page.getByTestId("video-player").waitFor({ timeout: 600_000 });
      await page.waitForFunction(() => {
        const v = document.querySelector("video") as HTMLVideoElement | null;
        return v !== null && v.readyState >= 2 && v.videoWidth > 0;
      });
      const played = await page.evaluate(async () => {
        const v = document.querySelector("video") as HTMLVideoElement;
        await v.play();
        await new Promise((r) => setTimeout(r, 500));
        return { time: v.currentTime, width: v.videoWidth, height: v.videoHeight };
      });
      expect(played.time).toBeGreaterThan(0);
      expect(played.width).toBeGreaterThan(0);
      await screenshots(page, "e2e-job-done");
    } finally {
      try {
        process.kill(-studio.pid!, "SIGINT");
      } catch {
        // already gone
      }
      await new Promise((r) => studio.once("exit", r));
    }
  });
});
