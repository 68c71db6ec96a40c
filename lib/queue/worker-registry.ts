/**
 * Live workers announce themselves in Redis with a short-lived key that they refresh; the health endpoint,
 * the workers panel and routing's "no worker can run this" read the keys still alive. A worker that dies
 * simply expires.
 */
import type { Redis } from "ioredis";
import { z } from "zod";
import { redisName } from "../redis/namespace.ts";
import { JOB_KINDS } from "../schemas/job-vocabulary.ts";
import type { WorkerCapabilities } from "./routing.ts";

export const WORKER_STATES = ["ready", "draining"] as const;

const workerKey = (prefix: string, id: string) => redisName(prefix, "workers", id);
export const HEARTBEAT_MS = 5_000;
const TTL_S = 15;

export const workerInfoSchema = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number(),
  executionProviders: z.array(z.string()),
  /** The WebGPU adapter (lib/engine/gpu-adapter.ts), null on CPU/CUDA workers. */
  adapter: z
    .object({
      vendor: z.string(),
      architecture: z.string(),
      device: z.string(),
      description: z.string(),
      backend: z.string(),
      software: z.boolean(),
      shaderF16: z.boolean(),
      limits: z.record(z.string(), z.number()),
    })
    .nullable()
    .default(null),
  /** The model loaded (the one of the last job it ran), null before its first job. */
  model: z.string().nullable(),
  startedAt: z.string(),
  busy: z.boolean(),
  /** Jobs running now; `concurrency` is how many it runs at once. */
  running: z.number().default(0),
  concurrency: z.number(),
  /** "draining": asked to stop (SIGTERM); finishing its running job, taking no new one (lib/jobs/worker.ts). */
  state: z.enum(WORKER_STATES).default("ready"),
  /** The memory it advertises for routing (lib/engine/device-memory.ts); total null: unknown, no limit. */
  memory: z
    .object({ totalBytes: z.number().nullable(), freeBytes: z.number().nullable(), source: z.string() })
    .default({ totalBytes: null, freeBytes: null, source: "unknown" }),
  /** The models in its MODELS_DIR and the job kinds it takes. */
  models: z.array(z.string()).default([]),
  kinds: z.array(z.enum(JOB_KINDS)).default([]),
  /** The capability classes it consumes now (lib/queue/routing.ts, classQueueName). */
  queues: z.array(z.string()).default([]),
  /** The id of the storage root it writes to (lib/storage/marker.ts). */
  storageId: z.string().nullable().default(null),
});
export type WorkerInfo = z.infer<typeof workerInfoSchema>;

const GIB = 2 ** 30;

/** A worker's capabilities as routing reads them: its memory in GiB (null: unknown, no limit). */
export function capabilitiesOf(w: WorkerInfo): WorkerCapabilities {
  return { models: w.models, kinds: w.kinds, memoryGiB: w.memory.totalBytes === null ? null : w.memory.totalBytes / GIB };
}

export async function announceWorker(redis: Redis, prefix: string, info: WorkerInfo): Promise<void> {
  await redis.set(workerKey(prefix, info.id), JSON.stringify(info), "EX", TTL_S);
}

export async function retireWorker(redis: Redis, prefix: string, id: string): Promise<void> {
  await redis.del(workerKey(prefix, id));
}

export async function listWorkers(redis: Redis, prefix: string): Promise<WorkerInfo[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", workerKey(prefix, "*"), "COUNT", 100);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  return values
    .map((v) => {
      const parsed = v ? workerInfoSchema.safeParse(JSON.parse(v)) : undefined;
      return parsed?.success ? parsed.data : undefined;
    })
    .filter((w): w is WorkerInfo => w !== undefined)
    .sort((a, b) => a.id.localeCompare(b.id));
}
