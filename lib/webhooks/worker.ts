/** The webhook queue's consumer, run inside every generation worker process (lib/jobs/worker.ts). */
import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Db } from "../db/client.ts";
import { createWebhookProcessor, type WebhookSettings } from "./deliver.ts";
import { WEBHOOK_QUEUE, type WebhookJobData } from "./queue.ts";

/** Calls go out a few at a time: a slow receiver must not hold up the others. */
const CONCURRENCY = 4;

export function startWebhookWorker(opts: {
  connection: Redis;
  /** The studio's Redis namespace: the same as the producers'. */
  prefix: string;
  db: Db;
  settings: WebhookSettings;
  log: (line: string) => void;
}): Worker<WebhookJobData, void> {
  const worker = new Worker<WebhookJobData, void>(WEBHOOK_QUEUE, createWebhookProcessor(opts.db, opts.settings, opts.log), {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: CONCURRENCY,
  });
  worker.on("error", (e) => opts.log(`webhook queue error: ${e.message}`));
  return worker;
}
