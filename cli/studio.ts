/**
 * `npm run studio`: one command from a fresh clone to a running studio. It validates the configuration,
 * applies database migrations, prepares the built-in tiny model when no model is installed, finds or
 * starts Redis, builds the web app when its sources changed, then runs the web server and a worker until
 * Ctrl+C, which stops everything it started. A first start takes minutes (the tiny model and the web app
 * are built), so each step is announced as it begins, long ones say they are still working, and the
 * address is printed once the web server answers.
 */
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { ConfigError, loadConfig } from "../lib/config.ts";
import { migrateDatabase } from "../lib/db/migrate.ts";
import { ensureRedis, RedisUnavailableError, type RedisHandle } from "../lib/redis/bootstrap.ts";
import { startChild, type Child } from "../lib/supervisor.ts";
import { ensureDefaultModel } from "../lib/model-library/default-model.ts";
import { buildWebIfStale, nextBin } from "./web-build.ts";

const require = createRequire(import.meta.url);
const tsxCli = path.join(path.dirname(require.resolve("tsx/package.json")), "dist", "cli.mjs");

const log = (line: string) => console.log(`[studio] ${line}`);

const STEPS = 5;
let stepsTaken = 0;
const startedAt = Date.now();
const seconds = (since: number) => `${Math.round((Date.now() - since) / 1000)} s`;

/** Announces the next start-up step: "[2/5] models: …". */
function step(what: string): void {
  stepsTaken++;
  log(`[${stepsTaken}/${STEPS}] ${what}`);
}

/** Runs a long asynchronous step, saying every 20 s that it is still working on `what`. */
async function withHeartbeat<T>(what: string, work: Promise<T>): Promise<T> {
  const since = Date.now();
  const timer = setInterval(() => log(`  … still ${what} (${seconds(since)})`), 20_000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** Waits until the web server answers HTTP (any status: /api/health may be 401 behind a token). */
async function waitForWeb(url: string, web: Child, timeoutMs = 120_000): Promise<boolean> {
  let exited = false;
  void web.exited.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited) {
    if (await fetch(`${url}/api/health`).then(() => true, () => false)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function main(): Promise<number> {
  let cfg;
  try {
    cfg = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
  mkdirSync(cfg.dataDir, { recursive: true });

  step(`database: applying migrations to ${cfg.databaseProvider === "sqlite" ? cfg.databaseUrl.slice(5) : "PostgreSQL"}`);
  await migrateDatabase();

  step("models: looking in the models folder (a first start builds the built-in tiny model here)");
  await withHeartbeat("preparing the models", ensureDefaultModel(cfg.modelsDir, log));

  step("Redis: connecting, or starting a private one");
  let redis: RedisHandle;
  try {
    redis = await ensureRedis({ url: cfg.redisUrl, dataDir: cfg.dataDir, prefix: cfg.redisPrefix, log });
  } catch (e) {
    if (e instanceof RedisUnavailableError) {
      console.error(e.message);
      return 3;
    }
    throw e;
  }

  log(`Redis namespace: ${cfg.redisPrefix}`);

  const children: Child[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log("stopping…");
    await Promise.all(children.map((c) => c.stop()));
    await redis.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));

  step("web app: checking the build (a first start, or changed sources, builds it: Next.js prints its progress)");
  try {
    buildWebIfStale(log);
  } catch (e) {
    console.error((e as Error).message);
    await redis.stop();
    return 1;
  }

  step("starting the web server and a worker");
  const env = { ...process.env, REDIS_URL: redis.url, REDIS_PREFIX: cfg.redisPrefix, NODE_ENV: "production" as const, NEXT_TELEMETRY_DISABLED: "1" };
  const web = startChild("web", process.execPath, [nextBin, "start", "-H", cfg.host, "-p", String(cfg.port)], { env });
  children.push(web);
  const superviseWorker = (restarts: number) => {
    const worker = startChild("worker", process.execPath, [tsxCli, "workers/generate.ts"], { env });
    children.push(worker);
    void worker.exited.then((code) => {
      if (stopping) return;
      children.splice(children.indexOf(worker), 1);
      if (restarts >= 5) {
        log(`the worker exited (code ${code}) ${restarts} times; giving up`);
        void stopAll(1);
        return;
      }
      log(`the worker exited (code ${code}); restarting it`);
      setTimeout(() => superviseWorker(restarts + 1), 1000 * (restarts + 1));
    });
  };
  superviseWorker(0);
  void web.exited.then((code) => {
    if (!stopping) {
      log(`the web server exited (code ${code})`);
      void stopAll(1);
    }
  });
  const shown = cfg.host === "0.0.0.0" || cfg.host === "::" ? "localhost" : cfg.host;
  const local = `http://${cfg.host === "0.0.0.0" ? "127.0.0.1" : cfg.host === "::" ? "[::1]" : cfg.host.includes(":") ? `[${cfg.host}]` : cfg.host}:${cfg.port}`;
  if (!(await waitForWeb(local, web))) {
    log("the web server did not answer; see its output above");
    await stopAll(1);
  }
  log(`studio at http://${shown}:${cfg.port}  (ready after ${seconds(startedAt)}; Ctrl+C stops it)`);
  return await new Promise<number>(() => {});
}

main().then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
