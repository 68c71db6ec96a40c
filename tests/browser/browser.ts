/**
 * Debian's Chromium driven by playwright-core for the browser tests: a fresh profile per browser, the
 * flags that keep it quiet and offline-safe, phone and desktop viewports, and screenshots saved as test
 * artifacts under test-results/screenshots/ (gitignored).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { findExecutable } from "../../lib/redis/bootstrap.ts";
import { CHROMIUM_CANDIDATES } from "../setup/services.ts";

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
export const SCREENSHOTS = path.resolve("test-results", "screenshots");

export type TestBrowser = { context: BrowserContext; newPage(viewport?: { width: number; height: number }): Promise<Page>; close(): Promise<void> };

export async function openBrowser(): Promise<TestBrowser> {
  const executablePath = process.env.CHROMIUM_PATH ?? CHROMIUM_CANDIDATES.map((c) => findExecutable(c)).find(Boolean) ?? "/usr/bin/chromium";
  const profile = mkdtempSync(path.join(os.tmpdir(), "studio-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: DESKTOP,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  return {
    context,
    async newPage(viewport = DESKTOP) {
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      // Errors in the page fail loudly in the test output instead of hiding behind a wrong screenshot.
      page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Screenshots of the current page at desktop and phone width (full page unless told otherwise, e.g. for
 * a dialog, which is drawn over the viewport). Sticky bars are laid out in
 * place for the capture (a full-page capture would otherwise paint them in the middle of the page).
 * Also checks the page never scrolls sideways at either width.
 */
export async function screenshots(
  page: Page,
  name: string,
  opts: { fullPage?: boolean } = {},
): Promise<{ desktopOverflow: number; phoneOverflow: number }> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const original = page.viewportSize() ?? DESKTOP;
  const style = await page.addStyleTag({ content: ".topbar, .submit-bar, .workspace > .queue { position: static !important; }" });
  const overflow: number[] = [];
  for (const [label, viewport] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(150);
    overflow.push(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth));
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${label}.png`), fullPage: opts.fullPage ?? true, animations: "disabled" });
  }
  await style.evaluate((el) => (el as Element).remove());
  await page.setViewportSize(original);
  return { desktopOverflow: overflow[0], phoneOverflow: overflow[1] };
}
