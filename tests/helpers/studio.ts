/**
 * Runs a real studio for HTTP and browser tests: the built web app under `next start` and, if asked,
 * worker processes (`workers/generate.ts`: the real queue worker running the engine on the models in
 * DATA_DIR/models), all on a given DATA_DIR (SQLite file inside, migrated first) and Redis. The web app
 * is built once per source change (cli/web-build.ts), so only the first test run pays for the build.
 */
import path from "node:path";
import { createRequire } from "node:module";
import { buildWebIfStale, nextBin } from "../../cli/web-build.ts";
import { migrateDatabase } from "../../lib/db/migrate.ts";
import { startChild, type Child } from "../../lib/supervisor.ts";
import { freePort } from "./ports.ts";

const require = createRequire(import.meta.url);
const tsxCli = path.join(path.dirname(require.resolve("tsx/package.json")), "dist", "cli.mjs");

export type StudioProcessesOptions = {
  dataDir: string;
  redisUrl: string;
  port?: number;
  workers?: number;
  /** More environment (HOST, STUDIO_TOKEN, MODELS_DIR, STUDIO_LOCK_MS, …). */
  env?: Record<string, string>;
  /** Output lines of the processes (default: kept for `lines`, not printed). */
  onLine?: (name: string, line: string) => void;
};

export type StudioProcesses = {
  url: string;
  port: number;
  env: NodeJS.ProcessEnv;
  web: Child;
  workers: Child[];
  /** Everything the processes printed, prefixed with their name. */
  lines: string[];
  /** Starts one more worker process; `env` adds to (or overrides) the studio's environment for it alone. */
  startWorker(env?: Record<string, string>): Promise<Child>;
  stop(): Promise<void>;
};

async function waitUntil(what: string, check: () => Promise<boolean>, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${child.name} exited while waiting for ${what}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function startStudioProcesses(opts: StudioProcessesOptions): Promise<StudioProcesses> {
  buildWebIfStale(() => {});
  const port = opts.port ?? (await freePort());
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    DATA_DIR: opts.dataDir,
    DATABASE_URL: `file:${path.join(opts.dataDir, "studio.db")}`,
    REDIS_URL: opts.redisUrl,
    HOST: "127.0.0.1",
    PORT: String(port),
    ...opts.env,
  };
  await migrateDatabase(env);
  const lines: string[] = [];
  const record = (name: string) => (line: string) => {
    lines.push(`[${name}] ${line}`);
    opts.onLine?.(name, line);
  };
  const web = startChild("web", process.execPath, [nextBin, "start", "-H", env.HOST!, "-p", String(port)], { env, onLine: record("web") });
  const url = `http://127.0.0.1:${port}`;
  const workers: Child[] = [];
  const processes: StudioProcesses = {
    url,
    port,
    env,
    web,
    workers,
    lines,
    async startWorker(extra = {}) {
      const name = `worker${workers.length + 1}`;
      const child = startChild(name, process.execPath, [tsxCli, "workers/generate.ts"], { env: { ...env, ...extra }, onLine: record(name) });
      workers.push(child);
      await waitUntil(`${name} to be ready`, async () => lines.some((l) => l.startsWith(`[${name}] worker `) && l.includes(" ready")), child, 60_000);
      return child;
    },
    async stop() {
      await Promise.all([web, ...workers].map((c) => c.stop("SIGTERM", 5000)));
    },
  };
  try {
    // Any HTTP answer means the server is up (health may be 401 behind auth).
    await waitUntil("the web server", async () => (await fetch(`${url}/api/health`)).status > 0, web, 60_000);
    for (let i = 0; i < (opts.workers ?? 0); i++) await processes.startWorker();
  } catch (e) {
    await processes.stop();
    throw new Error(`${(e as Error).message}\n${lines.slice(-30).join("\n")}`);
  }
  return processes;
}
