/**
 * Runs once before the tests: checks that the real services the tests use are present, and says exactly
 * what is missing (and how to install it) instead of letting tests fail obscurely. Redis: the one at
 * REDIS_URL when it answers, else a private redis-server on a free port for this run. Also makes the
 * folder where tests/helpers/models.ts keeps the generated tiny models for this run, and removes it after.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { ensureRedis, findExecutable, pingRedis, type RedisHandle } from "../../lib/redis/bootstrap.ts";
import { freePort } from "../helpers/ports.ts";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    /** Where the tiny models generated for tests are kept during this run (tests/helpers/models.ts). */
    tinyModelCache: string;
  }
}

export const CHROMIUM_CANDIDATES = ["chromium", "chromium-browser", "google-chrome"];

let redis: RedisHandle | undefined;
let redisDir: string | undefined;
let modelCache: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  const missing: string[] = [];
  for (const tool of ["ffmpeg", "ffprobe"]) {
    if (!findExecutable(tool)) missing.push(`${tool} (Debian/Ubuntu: apt-get install ffmpeg)`);
  }
  if (!process.env.CHROMIUM_PATH && !CHROMIUM_CANDIDATES.some((c) => findExecutable(c))) {
    missing.push("chromium, for the browser tests (Debian: apt-get install chromium; or set CHROMIUM_PATH)");
  }
  let url = process.env.REDIS_URL;
  if (!url || !(await pingRedis(url))) {
    if (!findExecutable("redis-server")) {
      missing.push(
        `Redis: nothing answers at ${url ?? "REDIS_URL (unset)"} and redis-server is not installed (apt-get install redis-server)`,
      );
    } else {
      redisDir = mkdtempSync(path.join(os.tmpdir(), "studio-test-redis-"));
      redis = await ensureRedis({ url: `redis://127.0.0.1:${await freePort()}`, dataDir: redisDir });
      url = redis.url;
    }
  }
  if (missing.length) {
    throw new Error(`The tests need services that are missing on this machine:\n  - ${missing.join("\n  - ")}`);
  }
  project.provide("redisUrl", url!);
  modelCache = mkdtempSync(path.join(os.tmpdir(), "studio-test-models-"));
  project.provide("tinyModelCache", modelCache);
}

export async function teardown(): Promise<void> {
  await redis?.stop();
  if (redisDir) rmSync(redisDir, { recursive: true, force: true });
  if (modelCache) rmSync(modelCache, { recursive: true, force: true });
}
