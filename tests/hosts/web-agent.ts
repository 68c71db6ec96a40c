/**
 * The "web" host of tests/hosts/hosts.test.ts: runs inside the web network namespace with only the
 * studio's environment (DATABASE_URL, REDIS_URL, DATA_DIR, MODELS_DIR), migrates the database, and then
 * does for the test what the API does — creates jobs through the jobs service (lib/jobs/create.ts, as
 * POST /api/jobs does) and reads rows, workers, the queue state (as GET /api/queue) and events — so the
 * test process itself, outside the namespaces, never talks to Redis or PostgreSQL. (`next start` needs a production build, which costs
 * minutes on the test machine; the API route is a thin handler over the same createJob.)
 *
 * Protocol, one JSON object a line: stdin `{"id": n, "op": "...", ...}`; stdout `ready`, `reply {"id": n,
 * "result"|"error": …}` and `event {…}` for every studio event on the channel.
 */
import readline from "node:readline";
import { loadConfig } from "../../lib/config.ts";
import { createDb } from "../../lib/db/client.ts";
import { migrateDatabase } from "../../lib/db/migrate.ts";
import { createJob } from "../../lib/jobs/create.ts";
import { getQueueState } from "../../lib/jobs/queue-control.ts";
import { subscribeEvents } from "../../lib/queue/events.ts";
import { createGenerateQueue } from "../../lib/queue/generate-queue.ts";
import { listWorkers } from "../../lib/queue/worker-registry.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { createStorage } from "../../lib/storage/storage.ts";

export type AgentRequest =
  | { op: "create"; request: Record<string, unknown> }
  | { op: "rows" }
  | { op: "workers" }
  | { op: "queue" };

const cfg = loadConfig();
await migrateDatabase(process.env);
const db = createDb(cfg.databaseUrl);
const redis = createRedis(cfg.redisUrl, "web-agent");
const ctx = {
  db,
  provider: cfg.databaseProvider,
  redis,
  redisPrefix: cfg.redisPrefix,
  queue: createGenerateQueue(redis, cfg.redisPrefix),
  storage: createStorage(cfg.dataDir),
  modelsDir: cfg.modelsDir,
  log: (line: string) => console.log(line),
};
await subscribeEvents(redis, cfg.redisPrefix, (event) => console.log(`event ${JSON.stringify(event)}`));

async function answer(request: AgentRequest): Promise<unknown> {
  switch (request.op) {
    case "create":
      return await createJob(ctx, request.request);
    case "rows":
      return (await db.job.findMany({ orderBy: { createdAt: "asc" } })).map((r) => ({ ...r, seed: r.seed === null ? null : Number(r.seed) }));
    case "workers":
      return await listWorkers(redis, cfg.redisPrefix);
    case "queue":
      return await getQueueState(ctx);
  }
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const request = JSON.parse(line) as AgentRequest & { id: number };
  answer(request).then(
    (result) => console.log(`reply ${JSON.stringify({ id: request.id, result })}`),
    (e: unknown) => console.log(`reply ${JSON.stringify({ id: request.id, error: e instanceof Error ? e.message : String(e) })}`),
  );
});
console.log("ready");
