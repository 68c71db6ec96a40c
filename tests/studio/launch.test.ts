/**
 * Command 1 end to end: `npm run studio` (cli/studio.ts) on a fresh data folder with no Redis answering at
 * REDIS_URL: it migrates SQLite, starts a private Redis, serves the page and /api/health with a live
 * worker, and Ctrl+C (SIGINT) stops everything it started. Its output tells a first-time user what it is
 * doing: numbered steps, the address only once the page answers, no jargon, and no CUDA "rejection" on a
 * machine that has no NVIDIA GPU.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { pingRedis } from "../../lib/redis/bootstrap.ts";
import { freePort } from "../helpers/ports.ts";

const dataDir = mkdtempSync(path.join(os.tmpdir(), "studio-launch-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("npm run studio", () => {
  it("starts web server, worker and a private Redis, and stops them on Ctrl+C", async () => {
    const port = await freePort();
    const redisUrl = `redis://127.0.0.1:${await freePort()}`;
    const studio = spawn(process.execPath, ["--import", "tsx", "cli/studio.ts"], {
      env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), REDIS_URL: redisUrl, HOST: "127.0.0.1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    for (const s of [studio.stdout, studio.stderr]) readline.createInterface({ input: s! }).on("line", (l) => lines.push(l));
    const exited = new Promise<number | null>((r) => studio.once("exit", (code) => r(code)));
    try {
      await waitFor("the studio to listen", async () => (lines.some((l) => l.includes("studio at http://")) ? true : undefined), 240_000);
      // The address is printed once the web server answers, not before.
      expect((await fetch(`http://127.0.0.1:${port}/api/health`)).status).toBeLessThan(600);
      // Each step is announced as it starts, in order, before the address.
      const steps = lines.map((l) => /^\[studio\] \[(\d)\/5\] /.exec(l)?.[1]).filter(Boolean);
      expect(steps).toEqual(["1", "2", "3", "4", "5"]);
      expect(lines.findIndex((l) => l.includes("[5/5]"))).toBeLessThan(lines.findIndex((l) => l.includes("studio at http://")));
      expect(lines.join("\n")).toMatch(/starting a private redis-server/);
      // Plain words about the previews' colour map, not "projection fitted on 250 colour patches (rms error …)".
      expect(lines.join("\n")).not.toMatch(/projection|rms error|colour patches/);
      expect(lines.join("\n")).toMatch(/colour map for live previews/);
      expect(existsSync(path.join(dataDir, "studio.db"))).toBe(true);
      // No model was installed: the built-in tiny model was prepared.
      expect(lines.join("\n")).toMatch(/models: wan2\.1-tiny ready/);
      expect(existsSync(path.join(dataDir, "models", "wan2.1-tiny", "manifest.json"))).toBe(true);

      const page = await waitFor("the studio page", async () => {
        const r = await fetch(`http://127.0.0.1:${port}/`);
        return r.ok ? await r.text() : undefined;
      }, 60_000);
      expect(page).toContain("Wan Studio");

      const health = await waitFor("a live worker in /api/health", async () => {
        const r = await fetch(`http://127.0.0.1:${port}/api/health`);
        const body = (await r.json()) as { status: string; workers: { executionProviders: string[] }[] };
        return body.workers.length > 0 ? { status: r.status, body } : undefined;
      }, 60_000);
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: "ok", database: { ok: true, provider: "sqlite" }, redis: { ok: true } });
      expect(health.body.workers[0].executionProviders).toContain("cpu");
      expect(lines.some((l) => /\[worker\] execution provider: (cpu|webgpu|cuda)/.test(l))).toBe(true);
      if (!existsSync("/proc/driver/nvidia/version")) {
        // No NVIDIA GPU here: nothing is missing, so no failure and no CUDA install hint.
        expect(lines.filter((l) => /failed:|gpu:install/.test(l))).toEqual([]);
      }
    } finally {
      studio.kill("SIGINT");
      expect(await exited).toBe(0);
    }
    // Everything it started is gone: the web port and the private Redis.
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    expect(await pingRedis(redisUrl)).toBe(false);
  });
});

describe("npm configuration", () => {
  it("has no project config npm does not know (npm warns about those on every command)", () => {
    // onnxruntime-node's install script (a NuGet download, which fails offline) is denied in package.json's
    // allowScripts instead of an .npmrc key npm does not know.
    const npm = spawnSync("npm", ["config", "get", "registry"], { encoding: "utf8" });
    expect(npm.status).toBe(0);
    expect(npm.stderr).not.toContain("Unknown project config");
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { allowScripts?: Record<string, boolean> };
    expect(pkg.allowScripts?.["onnxruntime-node"]).toBe(false);
  });
});
