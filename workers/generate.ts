/**
 * The generation worker: one process per device. It finds the execution providers that work here, logs
 * them, and runs the queue worker (lib/jobs/worker.ts) with the engine until SIGINT/SIGTERM.
 */
import { existsSync } from "node:fs";
import { ConfigError, loadConfig } from "../lib/config.ts";
import { createGenerationRunner } from "../lib/engine/generation.ts";
import { resolveRuntime } from "../lib/engine/runtime.ts";
import { startGenerationWorker } from "../lib/jobs/worker.ts";
import { ensureDefaultModel } from "../lib/models/default-model.ts";

async function main(): Promise<void> {
  const cfg = loadConfig();
  const runtime = await resolveRuntime({ executionProviders: cfg.executionProviders, threads: cfg.ortThreads });
  // "auto" tries CUDA first; on a machine without an NVIDIA driver there is no GPU to miss, so its
  // rejection (and the hint to install the CUDA provider) would only read like an error.
  const noNvidiaGpu = !existsSync("/proc/driver/nvidia/version");
  const quiet = (provider: string) => cfg.executionProviders === "auto" && provider === "cuda" && noNvidiaGpu;
  for (const r of runtime.rejected) if (!quiet(r.provider)) console.log(`execution provider ${r.provider} not used: ${r.reason}`);
  const cpuOnly = runtime.providers.length === 1 && runtime.providers[0] === "cpu";
  console.log(`execution providers: ${runtime.providers.join(", ")}${cpuOnly && noNvidiaGpu ? " (no NVIDIA GPU on this machine)" : ""}`);

  // A worker on another machine (or in a container) may be the first to see the shared models folder.
  await ensureDefaultModel(cfg.modelsDir, (line) => console.log(line));
  const runner = createGenerationRunner({
    modelsDir: cfg.modelsDir,
    runtime,
    textEncoderOnCpu: cfg.textEncoderDevice === "cpu",
    log: (line) => console.log(line),
  });
  const worker = await startGenerationWorker({
    cfg,
    runGeneration: runner.run,
    executionProviders: runtime.providers,
    log: (line) => console.log(line),
  });
  const shutdown = () => void worker.close().then(() => process.exit(0));
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

main().catch((e) => {
  console.error(e instanceof ConfigError ? e.message : e);
  process.exit(1);
});
