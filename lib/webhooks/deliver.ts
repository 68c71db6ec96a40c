/**
 * One try at telling a job's end to its webhook receivers: the job's own URL (given with the job) and
 * the global WEBHOOK_URL, each signed (signature.ts) and each try recorded as a WebhookDelivery row.
 * Receivers that answered 2xx are not called again; any other answer or no answer throws, and BullMQ
 * tries again later (queue.ts: exponential backoff). Redirects are not followed: a webhook only ever
 * goes to a URL the job or the configuration named.
 */
import { randomUUID } from "node:crypto";
import { UnrecoverableError, type Job as QueueJob } from "bullmq";
import type { Db, JobRow } from "../db/client.ts";
import { jobJson } from "../jobs/job-json.ts";
import { jobHref } from "../ui/links.ts";
import type { WebhookJobData } from "./queue.ts";
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER } from "./signature.ts";
import { urlOrigin } from "./url.ts";

export type WebhookSettings = { url: string | undefined; secret: string | undefined };

/** How long a receiver may take to answer one try. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
const MAX_ERROR_CHARS = 500;

type Target = { kind: "job" | "global"; url: string };

/** The body: the job as the API shows it (URLs relative to the studio, no server paths) and what happened. */
export function webhookBody(row: JobRow, event: string): string {
  const job = jobJson(row);
  return JSON.stringify({
    event: `job.${event}`,
    job: {
      id: job.id,
      kind: job.kind,
      status: job.status,
      prompt: job.prompt,
      model: job.model,
      seed: job.seed,
      error: job.error,
      createdAt: job.createdAt,
      finishedAt: job.finishedAt,
      pageUrl: jobHref(job.id),
      videoUrl: job.videoUrl,
      posterUrl: job.posterUrl,
    },
  });
}

function targets(row: JobRow, settings: WebhookSettings): Target[] {
  const list: Target[] = [];
  if (row.webhookUrl) list.push({ kind: "job", url: row.webhookUrl });
  if (settings.url && settings.url !== row.webhookUrl) list.push({ kind: "global", url: settings.url });
  return list;
}

async function send(target: Target, body: string, secret: string, event: string, deliveryId: string): Promise<{ statusCode: number | null; error: string | null }> {
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const res = await fetch(target.url, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      headers: {
        "content-type": "application/json",
        "user-agent": "wan-studio-webhook",
        [SIGNATURE_HEADER]: signBody(secret, timestamp, body),
        [TIMESTAMP_HEADER]: String(timestamp),
        [EVENT_HEADER]: `job.${event}`,
        [DELIVERY_HEADER]: deliveryId,
      },
      body,
    });
    await res.body?.cancel().catch(() => {});
    return { statusCode: res.status, error: res.ok ? null : `the receiver answered ${res.status}` };
  } catch (e) {
    const cause = (e as Error & { cause?: { code?: string } }).cause?.code;
    const message = (e as Error).name === "TimeoutError" ? `no answer within ${WEBHOOK_TIMEOUT_MS / 1000} s` : `${(e as Error).message}${cause ? ` (${cause})` : ""}`;
    return { statusCode: null, error: message.slice(0, MAX_ERROR_CHARS) };
  }
}

export function createWebhookProcessor(db: Db, settings: WebhookSettings, log: (line: string) => void = () => {}) {
  return async (queueJob: QueueJob<WebhookJobData>): Promise<void> => {
    const { jobId, event } = queueJob.data;
    const attempt = queueJob.attemptsMade + 1;
    const row = await db.job.findUnique({ where: { id: jobId } });
    // Deleted meanwhile: its deliveries went with it, and there is no job left to describe.
    if (!row) return;
    const list = targets(row, settings);
    if (!list.length) return;
    if (!settings.secret) {
      log(`job ${jobId}: webhook not sent: WEBHOOK_SECRET is not set`);
      throw new UnrecoverableError("WEBHOOK_SECRET is not set");
    }
    // Receivers that already answered 2xx for this end are done.
    const done = await db.webhookDelivery.findMany({
      where: { jobId, event, statusCode: { gte: 200, lt: 300 } },
      select: { target: true },
    });
    const body = webhookBody(row, event);
    const failures: string[] = [];
    for (const target of list.filter((t) => !done.some((d) => d.target === t.kind))) {
      const id = randomUUID();
      const started = performance.now();
      const outcome = await send(target, body, settings.secret, event, id);
      await db.webhookDelivery.create({
        data: {
          id,
          jobId,
          event,
          target: target.kind,
          origin: urlOrigin(target.url),
          attempt,
          statusCode: outcome.statusCode,
          error: outcome.error,
          durationMs: Math.round(performance.now() - started),
        },
      });
      if (outcome.error) failures.push(`${target.kind} webhook (${urlOrigin(target.url)}): ${outcome.error}`);
    }
    if (failures.length) {
      log(`job ${jobId}: ${failures.join("; ")} (try ${attempt})`);
      throw new Error(failures.join("; "));
    }
  };
}
