/**
 * A worker process for tests: the studio's queue worker (lib/jobs/worker.ts, with the real processor,
 * BullMQ settings and reconciliation) around the test generation function (encode-generation.ts).
 * Configured by the usual environment (DATABASE_URL, REDIS_URL, DATA_DIR, STUDIO_LOCK_MS) plus
 * TEST_STEP_MS. Prints "worker … ready" once it consumes the queue.
 */
import { loadConfig } from "../../lib/config.ts";
import { startGenerationWorker } from "../../lib/jobs/worker.ts";
import { encodeGeneration } from "./encode-generation.ts";

const cfg = loadConfig();
const worker = await startGenerationWorker({
  cfg,
  runGeneration: encodeGeneration({ stepMs: Number(process.env.TEST_STEP_MS ?? 20) }),
  executionProviders: ["cpu"],
  log: (line) => console.log(line),
});
const shutdown = () => void worker.close().then(() => process.exit(0));
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
