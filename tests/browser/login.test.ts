/**
 * The login page of a studio that listens beyond loopback (so STUDIO_TOKEN is required): a page request
 * goes to /login, a wrong token is refused in place, the right one leads back to where the user was going.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO_OVERFLOW, screenshots } from "./browser.ts";
import { startUiStudio, type UiStudio } from "./ui-studio.ts";

const TOKEN = "a-long-enough-studio-token-1234";
let studio: UiStudio;
let page: Page;

beforeAll(async () => {
  studio = await startUiStudio("login", { redisDb: 12, env: { HOST: "0.0.0.0", STUDIO_TOKEN: TOKEN } });
  page = await studio.browser.newPage();
});
afterAll(async () => {
  await studio?.stop();
});

describe("login", () => {
  it("sends a page to /login, refuses a wrong token, and returns to the page with the right one", async () => {
    await page.goto(`${studio.url}/gallery?status=failed`);
    await page.waitForURL("**/login?**");
    expect(new URL(page.url()).searchParams.get("next")).toBe("/gallery?status=failed");
    expect(await screenshots(page, "login")).toEqual(NO_OVERFLOW);

    await page.locator("#token").fill("not-the-right-token-at-all");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.locator("#token-error").textContent()).toBe("That token is not right.");

    await page.locator("#token").fill(TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL("**/gallery?status=failed");
    await page.getByTestId("gallery-empty").waitFor();
  });
});
