/** What the jobs service works with: passed in, so the web server, the worker and tests each bring their own. */
import type { Redis } from "ioredis";
import type { Db } from "../db/client.ts";
import type { DbProvider } from "../db/provider.ts";
import type { GenerateQueue } from "../queue/generate-queue.ts";
import type { Storage } from "../storage/storage.ts";

export type JobsContext = {
  db: Db;
  provider: DbProvider;
  /** For publishing events and cancels. */
  redis: Redis;
  /** The studio's Redis namespace (REDIS_PREFIX): the queue, the event and cancel channels live under it. */
  redisPrefix: string;
  queue: GenerateQueue;
  storage: Storage;
  modelsDir: string;
  log: (line: string) => void;
  /** True where WEBHOOK_SECRET is set: a job may then bring a webhook URL of its own (it is signed with it). */
  acceptsJobWebhooks?: boolean;
};
