/** The record of a job's webhook calls, as GET /api/jobs/:id/webhooks and the job page show it. */
import { notFound } from "../errors.ts";
import type { JobsContext } from "../jobs/context.ts";
import type { WebhookDeliveryJson } from "../jobs/queue-schemas.ts";
import { isValidId } from "../storage/ids.ts";

export async function listWebhookDeliveries(ctx: Pick<JobsContext, "db">, jobId: string): Promise<{ deliveries: WebhookDeliveryJson[] }> {
  const job = isValidId(jobId) ? await ctx.db.job.findUnique({ where: { id: jobId }, select: { id: true } }) : null;
  if (!job) throw notFound(`job ${jobId}`);
  const rows = await ctx.db.webhookDelivery.findMany({ where: { jobId }, orderBy: [{ createdAt: "asc" }, { attempt: "asc" }] });
  return {
    deliveries: rows.map((r) => ({
      id: r.id,
      event: r.event as WebhookDeliveryJson["event"],
      target: r.target as WebhookDeliveryJson["target"],
      origin: r.origin,
      attempt: r.attempt,
      statusCode: r.statusCode,
      error: r.error,
      durationMs: r.durationMs,
      at: r.createdAt.toISOString(),
    })),
  };
}
