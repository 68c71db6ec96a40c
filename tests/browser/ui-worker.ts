/**
 * The worker process of the browser tests: the studio's real queue worker (lib/jobs/worker.ts) around the
 * stand-in generation function of ui-engine.ts. Environment as for any worker, plus UI_STEP_MS (time per
 * step). Prints "worker … ready" once it consumes the queue.
 */
import { loadConfig } from "../../lib/config.ts";
import { startGenerationWorker } from "../../lib/jobs/worker.ts";
import { uiEngine } from "./ui-engine.ts";

const worker = await startGenerationWorker({
  cfg: loadConfig(),
  runGeneration: uiEngine({ stepMs: Number(process.env.UI_STEP_MS ?? 150) }),
  executionProviders: ["cpu"],
  log: (line) => console.log(line),
});
const shutdown = () => void worker.close().then(() => process.exit(0));
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
