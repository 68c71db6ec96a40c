/**
 * The queue panel's controls in a real browser against a real studio and worker, the queue paused from
 * the start so the jobs wait: move up, priority, resume (the worker takes the high job) and pause, each
 * reaching the queue (checked through the API) and a second open page live; the notification bell; and
 * the job page's webhook records, from a local receiver started here. The panel is saved as a screenshot.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobJson } from "../../lib/jobs/schemas.ts";
import type { QueueState } from "../../lib/ui/api-types.ts";
import { call } from "../api/helpers.ts";
import { SCREENSHOTS } from "./browser.ts";
import { startUiStudio, type UiStudio } from "./ui-studio.ts";

let studio: UiStudio;
let page: Page;
let other: Page;
let jobs: JobJson[];
let receiver: Server;
let hookUrl: string;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  studio = await startUiStudio("queue-panel", { redisDb: 2, worker: true, env: { WEBHOOK_SECRET: "browser-test-secret-0123456789" } });
  await call(studio.url, "/api/queue/pause", { method: "POST" });
  jobs = [];
  for (const prompt of ["a lighthouse at dusk", "a red kite over green hills", "a cat asleep on a piano"]) jobs.push(await studio.createJob({ prompt }));
  page = await studio.browser.newPage();
  other = await studio.browser.newPage();
  for (const p of [page, other]) {
    await p.goto(studio.url);
    await p.locator('[data-testid="queue-panel"] .live-open').waitFor();
  }
});
afterAll(async () => {
  await studio?.stop();
  await new Promise((r) => receiver?.close(r));
});

const panelOrder = (p: Page) => p.locator('[data-testid="queue-panel"] .queue-item[data-status="queued"]').evaluateAll((els) => els.map((e) => e.getAttribute("data-job-id")));
const apiQueue = async () => (await call<QueueState>(studio.url, "/api/queue")).body;

describe("the queue panel's controls", () => {
  it("shows the queue's order and moves a job up, on this page, in the queue and on another open page", async () => {
    const [a, b, c] = jobs.map((j) => j.id);
    await expect.poll(() => panelOrder(page)).toEqual([a, b, c]);
    await page.getByRole("button", { name: "Move “a cat asleep on a piano” up" }).click();
    await expect.poll(() => panelOrder(page)).toEqual([a, c, b]);
    expect((await apiQueue()).jobs.map((j) => j.id)).toEqual([a, c, b]);
    await expect.poll(() => panelOrder(other)).toEqual([a, c, b]);
    // The first job cannot go further up.
    expect(await page.getByRole("button", { name: "Move “a lighthouse at dusk” up" }).isDisabled()).toBe(true);
  });

  it("changes a job's priority: a high job goes first, and the job page's API says so", async () => {
    const [a, b, c] = jobs.map((j) => j.id);
    await page.getByRole("combobox", { name: "Priority of “a red kite over green hills”" }).selectOption("high");
    await expect.poll(() => panelOrder(page)).toEqual([b, a, c]);
    await expect.poll(() => panelOrder(other)).toEqual([b, a, c]);
    expect((await studio.getJob(b)).body.priority).toBe("high");
    expect(await other.getByRole("combobox", { name: "Priority of “a red kite over green hills”" }).inputValue()).toBe("high");
  });

  it("resumes and pauses the whole queue, shown on every open page", async () => {
    const [, b] = jobs.map((j) => j.id);
    const pause = page.locator(".queue-pause");
    const banner = (p: Page) => p.getByText("Paused: running jobs finish, queued jobs wait.");
    expect(await pause.textContent()).toBe("Resume");
    expect(await pause.getAttribute("aria-pressed")).toBe("true");
    await banner(other).waitFor();
    await page.mouse.move(0, 0);
    await page.locator('[data-testid="queue-panel"]').screenshot({ path: path.join(SCREENSHOTS, "queue-panel.png"), animations: "disabled" });

    await pause.click();
    await expect.poll(() => pause.textContent()).toBe("Pause");
    expect((await apiQueue()).paused).toBe(false);
    await expect.poll(() => banner(other).count()).toBe(0);
    // The worker takes the high job first.
    await studio.waitForJob(b, (j) => j.status !== "queued");

    await pause.click();
    await expect.poll(() => pause.textContent()).toBe("Resume");
    expect((await apiQueue()).paused).toBe(true);
    await banner(other).waitFor();
  });

  it("switches job notifications on with the bell once the browser grants permission", async () => {
    await studio.browser.context.grantPermissions(["notifications"], { origin: studio.url });
    const bell = page.getByRole("button", { name: "Notify me when jobs end" });
    await bell.click();
    const on = page.getByRole("button", { name: "Stop notifying when jobs end" });
    expect(await on.getAttribute("aria-pressed")).toBe("true");
    // Kept for the next visit.
    await page.reload();
    await page.getByRole("button", { name: "Stop notifying when jobs end" }).waitFor();
  });

  it("lists the webhook calls on the job page once the job ended", async () => {
    const job = await studio.createJob({ prompt: "told to a webhook", webhookUrl: hookUrl });
    await call(studio.url, `/api/jobs/${job.id}/cancel`, { method: "POST" });
    await page.goto(`${studio.url}/jobs/${job.id}`);
    const section = page.getByTestId("webhook-deliveries");
    await expect.poll(() => section.locator(".webhook-row").count(), { timeout: 20_000 }).toBe(1);
    expect(await section.locator(".badge").textContent()).toBe("204");
    expect(await section.locator(".webhook-what").textContent()).toContain(`job URL · ${new URL(hookUrl).origin} · try 1`);
  });
});
