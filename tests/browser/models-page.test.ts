/**
 * The Models page in a real browser against a real studio and worker, installing from a local hub
 * (tests/helpers/hub-server.ts, rate-limited so the download can be watched): the install form, live
 * progress (phase, bytes, rate, ETA), the model appearing in the list and then in the studio's model
 * picker; make default, rename and delete (behind a confirmation) from the list.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelJson } from "../../lib/jobs/schemas.ts";
import { call } from "../api/helpers.ts";
import { startHubServer, type HubServer } from "../helpers/hub-server.ts";
import { TINY_T2V } from "../helpers/models.ts";
import { NO_OVERFLOW, screenshots } from "./browser.ts";
import { startUiStudio, type UiStudio } from "./ui-studio.ts";

const REPO = "wan-test/Wan2.1-Tiny-Diffusers";

let hub: HubServer;
let studio: UiStudio;
let page: Page;

beforeAll(async () => {
  hub = await startHubServer({ repos: [REPO] });
  studio = await startUiStudio("models", { redisDb: 3, worker: true, env: { HF_ENDPOINT: hub.url } });
  page = await studio.browser.newPage();
});
afterAll(async () => {
  await studio?.stop();
  await hub?.close();
});

const row = (name: string) => page.locator(`[data-testid=model-row][data-model="${name}"]`);

describe("the models page", () => {
  it("installs a model from the hub with live progress; it then appears in the list and the studio's picker", async () => {
    // About 1.5 MB/s: a few seconds of download to watch.
    hub.throttle(1_500_000);
    await page.goto(`${studio.url}/models`);
    await row(TINY_T2V).waitFor();
    expect(await row(TINY_T2V).textContent()).toContain("tiny test model");

    await page.getByLabel("Hugging Face repo").fill(REPO);
    await page.getByLabel("Precision").selectOption("fp32");
    await page.getByLabel(/^Name/).fill("hub-tiny");
    // A LoRA the server does not have: refused before anything is queued, the message under the field.
    await page.getByLabel(/^LoRAs/).fill("/no/such/style.safetensors:0.8");
    await page.getByRole("button", { name: "Install", exact: true }).click();
    await expect.poll(() => page.locator("#install-loras-error").textContent()).toBe("loras[0].file: no such file on the server");
    expect(await page.locator("[data-testid=install]").count()).toBe(0);
    await page.getByLabel(/^LoRAs/).fill("");
    await page.getByRole("button", { name: "Install", exact: true }).click();

    const install = page.locator("[data-testid=install]").first();
    await expect.poll(() => install.getAttribute("data-status"), { timeout: 30_000 }).toBe("running");
    await expect.poll(() => install.locator("[data-testid=install-progress]").textContent(), { timeout: 30_000 }).toMatch(/Downloading.*MB \/ .*MB · .*\/s · ETA/);
    expect(Number(await install.getByRole("progressbar").getAttribute("aria-valuenow"))).toBeGreaterThanOrEqual(0);
    expect(await screenshots(page, "models-installing")).toEqual(NO_OVERFLOW);
    hub.throttle(null);

    await expect.poll(() => install.getAttribute("data-status"), { timeout: 90_000 }).toBe("succeeded");
    await row("hub-tiny").waitFor();
    expect(await row("hub-tiny").textContent()).toMatch(/t2v.*fp32.*MB · hf:\/\/wan-test\/Wan2\.1-Tiny-Diffusers@main · installed just now/);
    expect(await screenshots(page, "models")).toEqual(NO_OVERFLOW);

    await page.goto(`${studio.url}/`);
    const options = await page.locator("select#model option").allTextContents();
    expect(options.map((o) => o.split(" ")[0])).toContain("hub-tiny");
  });

  it("makes a model the default, renames it and deletes it behind a confirmation", async () => {
    await page.goto(`${studio.url}/models`);
    // The installed model is real (not the tiny test model), so it became the default by itself.
    expect(await row("hub-tiny").textContent()).toContain("Default");
    await row(TINY_T2V).getByRole("button", { name: "Make default" }).click();
    await expect.poll(() => row(TINY_T2V).textContent()).toContain("Default");
    expect(await row(TINY_T2V).getByRole("button", { name: "Make default" }).isDisabled()).toBe(true);
    expect(await row("hub-tiny").textContent()).not.toContain("Default");

    await row("hub-tiny").getByRole("button", { name: "Rename" }).click();
    const field = page.getByLabel("New name for hub-tiny");
    await field.fill("bad/name");
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => page.locator(".field-error").first().textContent()).toContain("name must be");
    await field.fill("hub-tiny-renamed");
    await page.getByRole("button", { name: "Save" }).click();
    await row("hub-tiny-renamed").waitFor();
    expect(await row("hub-tiny-renamed").textContent()).toContain("t2v");

    await row("hub-tiny-renamed").getByRole("button", { name: "Delete" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("Delete hub-tiny-renamed?");
    await dialog.getByRole("button", { name: "Delete" }).click();
    await row("hub-tiny-renamed").waitFor({ state: "detached" });
    const left = (await call<ModelJson[]>(studio.url, "/api/models")).body;
    expect(left.map((m) => [m.name, m.default])).toEqual([[TINY_T2V, true]]);
  });
});
