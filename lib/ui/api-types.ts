/**
 * The shapes the studio's HTTP API returns (the contract's "Job JSON", GET /api/models, uploads, events),
 * as the pages and components consume them: the API's own types, plus the constants and small
 * predicates the browser needs without loading the API's schemas.
 */
import type { z } from "zod";
import type { BatchJson, JobJson, JobList, ModelJson, UploadJson } from "../jobs/schemas.ts";
import type { queueStateSchema, webhookDeliveriesSchema } from "../jobs/queue-schemas.ts";
import type { InstallJson } from "../model-library/install-schemas.ts";
import type { WorkerInfo } from "../queue/worker-registry.ts";
export {
  EVENT_TYPES,
  isActive,
  isFinal,
  JOB_KINDS,
  JOB_PRIORITIES,
  JOB_STATUSES,
  QUEUE_EVENT,
  type JobKind,
  type JobPriority,
  type JobStatus,
} from "../schemas/job-vocabulary.ts";

/** A job as the API returns it (lib/jobs/schemas.ts is the source of truth; these are its types). */
export type JobView = JobJson;
export type JobPage = JobList;
/** A batch (POST /api/batches): its jobs in batch order and its status counts. */
export type BatchView = BatchJson;
export type ModelView = ModelJson;
export type UploadView = UploadJson;
/** GET /api/queue, and the payload of the "queue" event. */
export type QueueState = z.infer<typeof queueStateSchema>;
export type WebhookDeliveries = z.infer<typeof webhookDeliveriesSchema>;
/** A live worker (GET /api/workers): host, device, memory, loaded model, the classes it takes, its state. */
export type WorkerView = WorkerInfo;
/** A model install (POST /api/model-installs) with its live progress. */
export type InstallView = InstallJson;

/** The model a form starts with: the studio's default, else the first. */
export function initialModel(models: ModelView[]): ModelView | undefined {
  return models.find((m) => m.default) ?? models[0];
}

export type ApiErrorBody = { error: { code: string; message: string; field?: string } };

/** One message of GET /api/events or GET /api/jobs/:id/events (after the "snapshot"): the events the queue carries. */
export type { StudioEvent } from "../queue/events.ts";

