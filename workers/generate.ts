/**
 * The generation worker: one process per device, on any machine that reaches the studio's Redis and
 * database and mounts its storage root (docs/multi-machine.md). It finds the execution providers that
 * work here, logs them, and runs the queue worker (lib/jobs/worker.ts) with the engine until
 * SIGINT/SIGTERM: the first signal drains (the running job finishes, no new one is taken, then exit 0); a
 * second one checkpoints the running job and exits 0 without failing it, so another worker resumes it; a
 * third exits at once.
 */
import { ConfigError, loadConfig } from "../lib/config.ts";
import { createGenerationRunner } from "../lib/engine/generation.ts";
import { resolveRuntime, runtimeReport } from "../lib/engine/runtime.ts";
import { startGenerationWorker } from "../lib/jobs/worker.ts";
import { ensureDefaultModel } from "../lib/model-library/default-model.ts";
import { startInstallWorker } from "../lib/model-library/install-worker.ts";
import { createRedis } from "../lib/redis/connection.ts";
import { StorageMismatchError } from "../lib/storage/marker.ts";

async function main(): Promise<void> {
  const cfg = loadConfig();
  const runtime = await resolveRuntime({ executionProviders: cfg.executionProviders, threads: cfg.ortThreads });
  for (const line of runtimeReport(runtime, cfg.executionProviders === "auto")) console.log(line);

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
    adapter: runtime.adapter ?? null,
    log: (line) => console.log(line),
  });
  // Model installs (download + conversion) run here too, beside generation, one at a time.
  const installRedis = createRedis(cfg.redisUrl, "installs");
  const installs = await startInstallWorker({
    redis: installRedis,
    connection: createRedis(cfg.redisUrl, "installs-queue"),
    prefix: cfg.redisPrefix,
    modelsDir: cfg.modelsDir,
    hub: cfg.hub,
    lockMs: cfg.lockMs,
    log: (line) => console.log(line),
  });
  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals++;
    console.log(`${signal} (${signals})`);
    if (signals === 1) {
      void Promise.all([worker.drain(), installs.close()]).then(() => {
        installRedis.disconnect();
        process.exit(0);
      });
    } else if (signals === 2) {
      void worker.leave().then(() => process.exit(0));
    } else {
      process.exit(0);
    }
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

main().catch((e) => {
  console.error(e instanceof ConfigError || e instanceof StorageMismatchError ? e.message : e);
  process.exit(1);
});
