import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, inject, it } from "vitest";
import { Redis } from "ioredis";
import { ensureRedis, pingRedis, RedisUnavailableError, type RedisHandle } from "../../lib/redis/bootstrap.ts";
import { freePort } from "../helpers/ports.ts";

const dirs: string[] = [];
const handles: RedisHandle[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), "redis-bootstrap-"));
  dirs.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("Redis bootstrap", () => {
  it("uses a Redis that answers at REDIS_URL and starts nothing", async () => {
    const url = inject("redisUrl");
    const dataDir = tempDir();
    const handle = await ensureRedis({ url, dataDir });
    handles.push(handle);
    expect(handle.private).toBe(false);
    expect(handle.url).toBe(url);
    expect(existsSync(path.join(dataDir, "redis"))).toBe(false);
  });

  it("starts a private Redis with AOF persistence when none answers, and stops it", async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const dataDir = tempDir();
    expect(await pingRedis(url)).toBe(false);

    const handle = await ensureRedis({ url, dataDir });
    expect(handle.private).toBe(true);
    const client = new Redis(url);
    await client.set("studio:test", "kept");
    expect(await client.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
    client.disconnect();

    await handle.stop();
    expect(await pingRedis(url)).toBe(false);
    // The AOF is on disk, so a restarted private Redis has the data again.
    expect(readdirSync(path.join(dataDir, "redis")).some((f) => f.startsWith("appendonly"))).toBe(true);
    const again = await ensureRedis({ url, dataDir });
    handles.push(again);
    const check = new Redis(url);
    expect(await check.get("studio:test")).toBe("kept");
    check.disconnect();
  });

  it("deletes the keys outside the studio's namespace on a private Redis only", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const dataDir = tempDir();
    const first = await ensureRedis({ url, dataDir, prefix: "old" });
    const client = new Redis(url);
    await client.mset("old:generate:id", "1", "new:generate:id", "2", "new:workers:w", "3");
    client.disconnect();
    await first.stop();

    // Restarted under another prefix (REDIS_PREFIX changed, or the data folder moved): only its keys stay.
    const again = await ensureRedis({ url, dataDir, prefix: "new" });
    handles.push(again);
    const check = new Redis(url);
    expect((await check.keys("*")).sort()).toEqual(["new:generate:id", "new:workers:w"]);

    // A Redis the studio did not start is left alone.
    const shared = await ensureRedis({ url, dataDir, prefix: "other" });
    expect(shared.private).toBe(false);
    expect((await check.keys("*")).sort()).toEqual(["new:generate:id", "new:workers:w"]);
    check.disconnect();
  });

  it("says how to get Redis when none answers and redis-server is not installed", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const attempt = ensureRedis({ url, dataDir: tempDir(), redisServerPath: null });
    await expect(attempt).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(attempt).rejects.toThrow(/redis-server is not installed[\s\S]*apt-get install redis-server[\s\S]*brew install redis[\s\S]*docker compose/);
  });

  it("does not start a private server for a Redis on another host", async () => {
    const attempt = ensureRedis({ url: "redis://redis.invalid:6379", dataDir: tempDir() });
    await expect(attempt).rejects.toThrow(/No Redis answers at redis:\/\/redis\.invalid:6379/);
  });
});
