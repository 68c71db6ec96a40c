/**
 * Runs child processes for the studio launcher and the tests: each in its own process group (so that
 * `next start` and the server it forks stop together), output prefixed by name, stopped with SIGTERM
 * and then SIGKILL.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import readline from "node:readline";

export type Child = {
  name: string;
  process: ChildProcess;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
};

export type StartOptions = SpawnOptions & {
  /** Called with each output line; defaults to printing it prefixed with the child's name. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** "pipe" to write to the child's stdin (default: none). */
  stdin?: "pipe" | "ignore";
};

export function startChild(name: string, command: string, args: string[], opts: StartOptions = {}): Child {
  const { onLine, stdin = "ignore", ...spawnOpts } = opts;
  const child = spawn(command, args, { ...spawnOpts, detached: true, stdio: [stdin, "pipe", "pipe"] });
  const print = onLine ?? ((line: string) => console.log(`[${name}] ${line}`));
  for (const stream of ["stdout", "stderr"] as const) {
    const source = child[stream];
    if (source) readline.createInterface({ input: source }).on("line", (line) => print(line, stream));
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.once("error", (err) => {
      print(`failed to start: ${err.message}`, "stderr");
      resolve(127);
    });
  });
  return {
    name,
    process: child,
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      killGroup(child.pid, signal);
      const timer = setTimeout(() => killGroup(child.pid!, "SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      // The group may still hold grandchildren (next start's server); make sure they are gone too.
      killGroup(child.pid, "SIGKILL");
    },
  };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
