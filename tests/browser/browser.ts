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

/** How far each width scrolls sideways: all zero for a page that fits. */
export type Overflow = { desktop: number; phone: number; narrow: number };
export const NO_OVERFLOW: Overflow = { desktop: 0, phone: 0, narrow: 0 };

/** The narrowest phone the studio supports (checked for sideways scrolling, not captured). */
export const NARROW = { width: 360, height: 740 };

/**
 * Screenshots of the current page at desktop and phone width (full page unless told otherwise, e.g. for
 * a dialog, which is drawn over the viewport). Sticky bars are laid out in place for the capture (a
 * full-page capture would otherwise paint them in the middle of the page). Also measures how far the
 * page scrolls sideways at each width and at 360 px.
 */
export async function screenshots(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<Overflow> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const original = page.viewportSize() ?? DESKTOP;
  const style = await page.addStyleTag({ content: ".topbar, .submit-bar, .workspace > .queue { position: static !important; }" });
  const sideways = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const overflow: Overflow = { ...NO_OVERFLOW };
  for (const [label, viewport] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(150);
    overflow[label] = await sideways();
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${label}.png`), fullPage: opts.fullPage ?? true, animations: "disabled" });
  }
  await page.setViewportSize(NARROW);
  await page.waitForTimeout(150);
  overflow.narrow = await sideways();
  await style.evaluate((el) => (el as Element).remove());
  await page.setViewportSize(original);
  return overflow;
}
