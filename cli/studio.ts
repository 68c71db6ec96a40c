/**
 * `npm run studio`: one command from a fresh clone to a running studio. It validates the configuration,
 * applies database migrations, prepares the built-in tiny model when no model is installed, finds or
 * starts Redis, builds the web app when its sources changed, then runs the web server and a worker until
 * Ctrl+C, which stops everything it started.
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

  log(`database: ${cfg.databaseProvider === "sqlite" ? cfg.databaseUrl.slice(5) : "PostgreSQL"}`);
  await migrateDatabase();

  await ensureDefaultModel(cfg.modelsDir, log);

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

  try {
    buildWebIfStale(log);
  } catch (e) {
    console.error((e as Error).message);
    await redis.stop();
    return 1;
  }

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
  log(`studio at http://${shown}:${cfg.port}  (Ctrl+C stops it)`);
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
