/**
 * Finds a Redis for the studio: the one at REDIS_URL when it answers; otherwise, for a loopback URL and
 * when `redis-server` is installed, a private Redis started on that URL's port with its data (AOF) under
 * DATA_DIR/redis, so queued jobs survive a restart. When neither works, it says how to get Redis.
 *
 * A private Redis belongs to its data folder alone, so every key outside the studio's namespace there is
 * a leftover (an older REDIS_PREFIX, or the default prefix of the folder before it was moved): it is
 * deleted at start. Jobs still open in the database are put back on the queue by the worker's
 * reconciliation, so nothing the studio needs is lost.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdirSync } from "node:fs";
import path from "node:path";
import { Redis } from "ioredis";

export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisUnavailableError";
  }
}

export type RedisHandle = {
  url: string;
  /** True when this process started the Redis server and will stop it. */
  private: boolean;
  stop(): Promise<void>;
};

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

export const HOW_TO_GET_REDIS = [
  "Install Redis, or point REDIS_URL at a running one:",
  "  Debian/Ubuntu:   sudo apt-get install redis-server   (the studio starts a private one when none answers)",
  "  macOS:           brew install redis",
  "  docker compose:  docker compose up -d redis   and set REDIS_URL=redis://127.0.0.1:6379",
].join("\n");

/** Resolves to true when a Redis server answers PING at `url` within `timeoutMs`. */
export async function pingRedis(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** The absolute path of an executable found on PATH, or undefined. */
export function findExecutable(name: string, envPath = process.env.PATH ?? ""): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export type EnsureRedisOptions = {
  url: string;
  /** Folder for the private server's AOF files and log. */
  dataDir: string;
  log?: (line: string) => void;
  /** Override for tests; defaults to `redis-server` on PATH. */
  redisServerPath?: string | null;
  /** The studio's Redis namespace: on a private server, keys outside it are deleted at start. */
  prefix?: string;
};

export async function ensureRedis(opts: EnsureRedisOptions): Promise<RedisHandle> {
  const log = opts.log ?? (() => {});
  if (await pingRedis(opts.url)) {
    log(`Redis: using ${redact(opts.url)}`);
    return { url: opts.url, private: false, stop: async () => {} };
  }
  const parsed = new URL(opts.url);
  if (!LOOPBACK.has(parsed.hostname)) {
    throw new RedisUnavailableError(`No Redis answers at ${redact(opts.url)}.\n${HOW_TO_GET_REDIS}`);
  }
  const binary = opts.redisServerPath === undefined ? findExecutable("redis-server") : opts.redisServerPath;
  if (!binary) {
    throw new RedisUnavailableError(
      `No Redis answers at ${redact(opts.url)} and redis-server is not installed.\n${HOW_TO_GET_REDIS}`,
    );
  }
  const port = Number(parsed.port || 6379);
  const dir = path.join(opts.dataDir, "redis");
  mkdirSync(dir, { recursive: true });
  const args = [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--dir", dir,
    // AOF so that queued jobs survive a restart; fsync once a second is Redis' recommended trade-off.
    "--appendonly", "yes",
    "--appendfsync", "everysec",
    "--save", "",
    "--daemonize", "no",
    "--logfile", path.join(dir, "redis.log"),
  ];
  if (parsed.password) args.push("--requirepass", decodeURIComponent(parsed.password));
  log(`Redis: none answers at ${redact(opts.url)}; starting a private redis-server (data in ${dir})`);
  const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await pingRedis(opts.url, 500)) {
      if (opts.prefix !== undefined) {
        const dropped = await deleteKeysOutside(opts.url, opts.prefix);
        if (dropped) log(`Redis: deleted ${dropped} key(s) outside the namespace ${opts.prefix}`);
      }
      return { url: opts.url, private: true, stop: () => stopServer(child, exited, opts.url) };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new RedisUnavailableError(
    `The private redis-server did not start on port ${port}: ${stderr.trim() || `see ${path.join(dir, "redis.log")}`}`,
  );
}

/** Deletes every key of the URL's database that does not start with `prefix:`; returns how many. */
export async function deleteKeysOutside(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => {});
  try {
    await client.connect();
    let dropped = 0;
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "COUNT", 1000);
      const foreign = keys.filter((k) => !k.startsWith(`${prefix}:`));
      if (foreign.length) dropped += await client.unlink(...foreign);
      cursor = next;
    } while (cursor !== "0");
    return dropped;
  } finally {
    client.disconnect();
  }
}

async function stopServer(child: ChildProcess, exited: Promise<number | null>, url: string): Promise<void> {
  if (child.exitCode !== null) return;
  // SHUTDOWN flushes the AOF before the server exits; SIGTERM does the same if the command cannot be sent.
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.call("SHUTDOWN").catch(() => {});
  } catch {
    child.kill("SIGTERM");
  } finally {
    client.disconnect();
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** The URL without its password, for logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}
