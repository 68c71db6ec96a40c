/**
 * Separate "hosts" on one machine, for tests of the studio across machines: each host is a Linux network
 * namespace with one interface (eth0, a private address in a random 10.x.y.0/24) on a bridge that lives in
 * a namespace of its own, so nothing is reachable from the machine's own network and the hosts reach each
 * other only through the bridge. Files are shared as on one file system (the storage root is a directory
 * they all see). Processes started on a host get only the environment they are given.
 *
 * Needs root (CAP_NET_ADMIN) and iproute2; services need redis-server and Debian's PostgreSQL
 * (initdb/postgres, run as the postgres user through runuser). `hostsUnavailable` names what is missing.
 * Everything made here is removed by `destroy`, and at process exit if a test run dies before it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, chownSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import { findExecutable } from "../../lib/redis/bootstrap.ts";
import { startChild, type Child } from "../../lib/supervisor.ts";

/** Where Debian's PostgreSQL keeps initdb/postgres/pg_isready when they are not on PATH. */
function postgresBin(name: string): string | undefined {
  const onPath = findExecutable(name);
  if (onPath) return onPath;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  for (const version of readdirSync(root).sort().reverse()) {
    const candidate = path.join(root, version, "bin", name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Undefined when these tests can run here; otherwise what is missing, for the skip message. */
export function hostsUnavailable(): string | undefined {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (network namespaces need CAP_NET_ADMIN; .ci/run runs as root or with sudo)");
  if (!findExecutable("ip")) missing.push("ip (apt-get install iproute2)");
  if (!findExecutable("redis-server") || !findExecutable("redis-cli")) missing.push("redis-server and redis-cli (apt-get install redis-server)");
  if (!postgresBin("initdb") || !postgresBin("postgres") || !postgresBin("pg_isready")) missing.push("PostgreSQL server binaries (apt-get install postgresql)");
  if (!findExecutable("runuser")) missing.push("runuser (util-linux)");
  if (missing.length) return missing.join("; ");
  const probe = `studio-probe-${randomBytes(3).toString("hex")}`;
  const added = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (added.status !== 0) return `network namespaces: "ip netns add" failed (${added.stderr.trim()})`;
  spawnSync("ip", ["netns", "del", probe]);
  return undefined;
}

const ip = (...args: string[]) => execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

export type Host = {
  name: string;
  /** The namespace's name (unique per run). */
  ns: string;
  /** Its address on the bridge. */
  address: string;
  /** Starts a process on this host with exactly `env` (plus nothing else of the test's). */
  start(name: string, command: string, args: string[], opts: { env: Record<string, string>; cwd?: string; onLine?: (line: string) => void; stdin?: "pipe" }): Child;
  /** Runs a command on this host and returns its output (throws on failure). */
  run(command: string, args: string[]): string;
  /** Cuts this host's link (ip link set eth0 down, inside its namespace): a network partition. */
  linkDown(): void;
  linkUp(): void;
};

export type Hosts = {
  hosts: Record<string, Host>;
  /** Kills whatever runs in the namespaces and removes them (and so the bridge and the links). */
  destroy(): Promise<void>;
};

export async function createHosts(names: string[]): Promise<Hosts> {
  const id = randomBytes(3).toString("hex");
  const subnet = `10.${200 + (parseInt(id.slice(0, 2), 16) % 50)}.${parseInt(id.slice(2, 4), 16) % 250}`;
  const switchNs = `studio-${id}-switch`;
  const namespaces: string[] = [];
  const children: Child[] = [];

  const destroySync = () => {
    for (const child of children) {
      try {
        if (child.process.pid) process.kill(-child.process.pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    for (const ns of namespaces) {
      // Anything still running in the namespace (grandchildren that left the process group).
      const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout.split(/\s+/).filter(Boolean);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // gone already
        }
      }
      spawnSync("ip", ["netns", "del", ns]);
    }
    namespaces.length = 0;
  };
  process.once("exit", destroySync);

  try {
    ip("netns", "add", switchNs);
    namespaces.push(switchNs);
    ip("-n", switchNs, "link", "set", "lo", "up");
    ip("-n", switchNs, "link", "add", "br0", "type", "bridge");
    ip("-n", switchNs, "link", "set", "br0", "up");

    const hosts: Record<string, Host> = {};
    names.forEach((name, i) => {
      const ns = `studio-${id}-${name}`;
      const address = `${subnet}.${i + 2}`;
      ip("netns", "add", ns);
      namespaces.push(ns);
      // One veth pair: "p<i>" on the bridge, "eth0" on the host.
      ip("-n", switchNs, "link", "add", `p${i}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
      ip("-n", switchNs, "link", "set", `p${i}`, "master", "br0");
      ip("-n", switchNs, "link", "set", `p${i}`, "up");
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "addr", "add", `${address}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      hosts[name] = {
        name,
        ns,
        address,
        start(childName, command, args, opts) {
          const child = startChild(childName, "ip", ["netns", "exec", ns, command, ...args], {
            env: opts.env as NodeJS.ProcessEnv,
            cwd: opts.cwd,
            onLine: opts.onLine,
            stdin: opts.stdin,
          });
          children.push(child);
          return child;
        },
        run: (command, args) => ip("netns", "exec", ns, command, ...args),
        linkDown: () => void ip("-n", ns, "link", "set", "eth0", "down"),
        linkUp: () => void ip("-n", ns, "link", "set", "eth0", "up"),
      };
    });
    return {
      hosts,
      async destroy() {
        await Promise.all(children.map((c) => c.stop("SIGKILL")));
        destroySync();
        process.off("exit", destroySync);
      },
    };
  } catch (e) {
    destroySync();
    process.off("exit", destroySync);
    throw e;
  }
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const succeeds = (command: string, args: string[]) => spawnSync(command, args, { stdio: "ignore" }).status === 0;

/** A throwaway Redis on `host`, listening only on its bridge address. */
export async function startRedis(host: Host, dir: string): Promise<string> {
  const port = "6379";
  const child = host.start("redis", findExecutable("redis-server")!, [
    "--bind", host.address, "--port", port, "--protected-mode", "no", "--save", "", "--appendonly", "no", "--dir", dir,
  ], { env: { PATH: process.env.PATH ?? "" }, onLine: () => {} });
  await until("Redis on the services host", () => child.process.exitCode === null && succeeds("ip", ["netns", "exec", host.ns, "redis-cli", "-h", host.address, "-p", port, "ping"]), 30_000);
  return `redis://${host.address}:${port}`;
}

/**
 * A private PostgreSQL cluster on `host` (initdb into `dir`, run as the postgres user), listening only on
 * its bridge address, trusting every connection (it is reachable from the test's namespaces only).
 */
export async function startPostgres(host: Host, dir: string): Promise<string> {
  const port = "5432";
  const cluster = path.join(dir, "cluster");
  mkdirSync(cluster, { recursive: true });
  chownSync(dir, postgresUid(), postgresGid());
  chownSync(cluster, postgresUid(), postgresGid());
  execFileSync("runuser", ["-u", "postgres", "--", postgresBin("initdb")!, "-D", cluster, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"], { stdio: "ignore" });
  // The hosts connect over the bridge: trust its subnet (nothing else can reach the address).
  const subnet = host.address.replace(/\.\d+$/, ".0/24");
  appendFileSync(path.join(cluster, "pg_hba.conf"), `host all all ${subnet} trust\n`);
  const child = host.start("postgres", "runuser", [
    "-u", "postgres", "--", postgresBin("postgres")!, "-D", cluster, "-p", port, "-k", dir,
    "-c", `listen_addresses=${host.address}`, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
  ], { env: { PATH: process.env.PATH ?? "" }, onLine: () => {} });
  await until("PostgreSQL on the services host", () => child.process.exitCode === null && succeeds("ip", ["netns", "exec", host.ns, postgresBin("pg_isready")!, "-h", host.address, "-p", port, "-U", "postgres"]), 60_000);
  return `postgresql://postgres@${host.address}:${port}/postgres`;
}

const idOf = (flag: "-u" | "-g") => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
const postgresUid = () => idOf("-u");
const postgresGid = () => idOf("-g");
