/**
 * GET /api/openapi.json: the API described as OpenAPI 3.1, with every body and answer generated from the
 * zod schemas the handlers parse with (z.toJSONSchema), so the document says exactly what is checked.
 */
import { z } from "zod";
import { UPLOAD_LIMITS } from "../jobs/limits.ts";
import { BATCH_LIMITS } from "../schemas/batch.ts";
import {
  continueJobRequestSchema,
  batchSchema,
  createBatchRequestSchema,
  createJobRequestSchema,
  errorSchema,
  jobListSchema,
  jobSchema,
  listJobsQuerySchema,
  loginRequestSchema,
  modelSchema,
  uploadSchema,
} from "../jobs/schemas.ts";
import { moveRequestSchema, priorityRequestSchema, queueStateSchema, webhookDeliveriesSchema } from "../jobs/queue-schemas.ts";
import { installRequestSchema, installSchema, updateModelSchema } from "../model-library/install-schemas.ts";
import { workerInfoSchema } from "../queue/worker-registry.ts";
import { EVENT_TYPES, QUEUE_EVENT } from "../schemas/job-vocabulary.ts";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../webhooks/signature.ts";

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  // Refinements (multiples of 16, 4k+1 frames) cannot be expressed in JSON Schema; their messages are
  // in the descriptions of the error answers instead.
  const out = z.toJSONSchema(schema, { io, unrepresentable: "any", reused: "inline" }) as JsonSchema;
  delete out.$schema;
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ "application/json": { schema } });
const error = (description: string) => ({ description, content: json(ref("Error")) });
const idParam = (what: string) => ({ name: "id", in: "path", required: true, description: `The ${what}'s id`, schema: { type: "string", pattern: "^[a-z0-9-]{8,64}$" } });
const binary = (types: string[], description: string) => ({
  description,
  content: Object.fromEntries(types.map((t) => [t, { schema: { type: "string", format: "binary" } }])),
});
const ranged = {
  "206": { description: "The requested byte range (Range: bytes=…)" },
  "304": { description: "Not modified (If-None-Match matched the ETag)" },
  "416": { description: "The range lies outside the file" },
};

function queryParameters(schema: z.ZodObject): unknown[] {
  const properties = (jsonSchema(schema, "input").properties ?? {}) as Record<string, JsonSchema>;
  return Object.entries(properties).map(([name, s]) => ({ name, in: "query", required: false, schema: s }));
}

export function openApiDocument(): Record<string, unknown> {
  const sse = {
    description: `Server-Sent Events: first "snapshot", then the events (${EVENT_TYPES.join(", ")}), each with JSON data { type, jobId, at, attempt?, … } (attempt: the run of the job that published it, so stragglers of an attempt another worker took over can be ignored); /api/events also carries "${QUEUE_EVENT}" ({ type, at, paused, jobs }: the queue after a pause, resume, move or priority change); a comment every 15 s keeps the connection open`,
    content: { "text/event-stream": { schema: { type: "string" } } },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "Wan Studio API",
      version: "1",
      description:
        "Text-, image- and video-to-video jobs on Wan 2.1. Errors are { error: { code, message, field? } }. When the studio has a STUDIO_TOKEN, send Authorization: Bearer <token> (or log in for a cookie). " +
        `Webhooks: when a job ends, its webhookUrl and the server's WEBHOOK_URL receive a POST of { event: "job.succeeded" | "job.failed" | "job.canceled", job: { … } }, signed with WEBHOOK_SECRET: ${SIGNATURE_HEADER}: sha256=<hex of HMAC-SHA256 over "<${TIMESTAMP_HEADER}>.<raw body>">; non-2xx answers are retried with exponential backoff.`,
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" }, cookie: { type: "apiKey", in: "cookie", name: "studio_session" } },
      schemas: {
        CreateJobRequest: jsonSchema(createJobRequestSchema, "input"),
        // The schema is loose only to word its refusal of the fixed fields; no other field is accepted.
        ContinueJobRequest: { ...jsonSchema(continueJobRequestSchema, "input"), additionalProperties: false },
        Job: jsonSchema(jobSchema, "output"),
        CreateBatchRequest: jsonSchema(createBatchRequestSchema, "input"),
        Batch: jsonSchema(batchSchema, "output"),
        JobList: jsonSchema(jobListSchema, "output"),
        Upload: jsonSchema(uploadSchema, "output"),
        Model: jsonSchema(modelSchema, "output"),
        UpdateModelRequest: jsonSchema(updateModelSchema, "input"),
        InstallRequest: jsonSchema(installRequestSchema, "input"),
        Install: jsonSchema(installSchema, "output"),
        LoginRequest: jsonSchema(loginRequestSchema, "input"),
        Error: jsonSchema(errorSchema, "output"),
        QueueState: jsonSchema(queueStateSchema, "output"),
        PriorityRequest: jsonSchema(priorityRequestSchema, "input"),
        MoveRequest: jsonSchema(moveRequestSchema, "input"),
        WebhookDeliveries: jsonSchema(webhookDeliveriesSchema, "output"),
        Workers: jsonSchema(z.object({ workers: z.array(workerInfoSchema) }), "output"),
      },
    },
    security: [{ bearer: [] }, { cookie: [] }],
    paths: {
      "/api/jobs": {
        get: {
          summary: "List jobs, newest first",
          parameters: queryParameters(listJobsQuerySchema),
          responses: { "200": { description: "A page of jobs", content: json(ref("JobList")) }, "400": error("A bad query parameter") },
        },
        post: {
          summary: "Create a job",
          requestBody: { required: true, content: json(ref("CreateJobRequest")) },
          responses: {
            "201": { description: "The queued job", content: json(ref("Job")) },
            "400": error("A field is invalid (the error names it)"),
            "413": error("The body is over 64 KB"),
            "415": error("The body is not JSON"),
            "422": error("Valid, but the model does not offer it (size, length), or the upload does not fit"),
          },
        },
      },
      "/api/jobs/{id}": {
        parameters: [idParam("job")],
        get: { summary: "One job", responses: { "200": { description: "The job", content: json(ref("Job")) }, "404": error("No such job") } },
        delete: {
          summary: "Delete a job (canceling it first) and its files",
          responses: { "204": { description: "Deleted" }, "404": error("No such job") },
        },
      },
      "/api/jobs/{id}/cancel": {
        parameters: [idParam("job")],
        post: {
          summary: "Cancel a queued or running job",
          responses: {
            "200": { description: "The job, now canceled", content: json(ref("Job")) },
            "404": error("No such job"),
            "409": error("The job has already finished"),
          },
        },
      },
      "/api/jobs/{id}/retry": {
        parameters: [idParam("job")],
        post: {
          summary: "Queue a new job with the same settings (a fixed seed stays fixed)",
          responses: {
            "201": { description: "The new job", content: json(ref("Job")) },
            "404": error("No such job"),
            "409": error("The job is still queued or running"),
          },
        },
      },
      "/api/jobs/{id}/continue": {
        parameters: [idParam("job")],
        post: {
          summary:
            "Continue a clip: queue a job that starts from this succeeded job's last frame (image conditioning on an i2v model, the held first frame on a t2v model), at its size. Omitted fields keep its settings; the seed is drawn anew unless given. When the new job succeeds, chain.videoUrl serves the joined video. The body is optional.",
          requestBody: { required: false, content: json(ref("ContinueJobRequest")) },
          responses: {
            "201": { description: "The queued continuation (chain.part is the previous part's + 1)", content: json(ref("Job")) },
            "400": error("A field is invalid, or is one a continuation cannot change (width, height, kind, …); the error names it"),
            "404": error("No such job"),
            "409": error("The job has not succeeded (queued, running, failed or canceled)"),
            "413": error("The body is over 64 KB"),
            "415": error("A body was sent, but not as JSON"),
            "422": error("The job's video is no longer in storage, or the model does not offer its size, length or frame rate"),
          },
        },
      },
      "/api/batches": {
        post: {
          summary: `Create a batch: count seeds (seed, seed+1, …; one random seed drawn for the batch when none is given) of one prompt, or one job per line of prompts (each with the same seeds); at most ${BATCH_LIMITS.maxJobs} jobs, all created or none`,
          requestBody: { required: true, content: json(ref("CreateBatchRequest")) },
          responses: {
            "201": { description: "The batch, its jobs queued in batch order", content: json(ref("Batch")) },
            "400": error("A field is invalid (the error names it: count, prompts.3, …)"),
            "413": error("The body is over 64 KB"),
            "415": error("The body is not JSON"),
            "422": error("Valid, but the model does not offer it (size, length), or the upload does not fit"),
            "503": error("The queue is unavailable: no job of the batch was kept"),
          },
        },
      },
      "/api/batches/{id}": {
        parameters: [idParam("batch")],
        get: { summary: "A batch: its jobs in batch order and how many are in each status", responses: { "200": { description: "The batch", content: json(ref("Batch")) }, "404": error("No such batch") } },
        delete: {
          summary: "Delete every job of the batch and their files (queued and running ones are canceled first)",
          responses: { "204": { description: "Deleted" }, "404": error("No such batch") },
        },
      },
      "/api/batches/{id}/cancel": {
        parameters: [idParam("batch")],
        post: {
          summary: "Cancel the batch's queued and running jobs (finished ones stay; canceling a finished batch changes nothing)",
          responses: { "200": { description: "The batch after the cancel", content: json(ref("Batch")) }, "404": error("No such batch") },
        },
      },
      "/api/jobs/{id}/priority": {
        parameters: [idParam("job")],
        post: {
          summary: "Move a queued job to another priority band (high runs before normal, normal before low), behind the jobs already there",
          requestBody: { required: true, content: json(ref("PriorityRequest")) },
          responses: {
            "200": { description: "The queue after the change", content: json(ref("QueueState")) },
            "400": error("priority is not high, normal or low"),
            "404": error("No such job"),
            "409": error("The job is no longer queued"),
          },
        },
      },
      "/api/jobs/{id}/move": {
        parameters: [idParam("job")],
        post: {
          summary: "Swap a queued job with the one ahead (up) or behind (down); across a band's edge it joins the neighbour's band",
          requestBody: { required: true, content: json(ref("MoveRequest")) },
          responses: {
            "200": { description: "The queue after the move (unchanged at either end)", content: json(ref("QueueState")) },
            "400": error("direction is not up or down"),
            "404": error("No such job"),
            "409": error("The job is no longer queued"),
          },
        },
      },
      "/api/jobs/{id}/webhooks": {
        parameters: [idParam("job")],
        get: {
          summary: "Every try at calling the job's webhook receivers, oldest first",
          responses: { "200": { description: "The delivery records", content: json(ref("WebhookDeliveries")) }, "404": error("No such job") },
        },
      },
      "/api/queue": {
        get: {
          summary: "Whether the queue is paused, and the queued jobs (per capability class, in the order its workers take them; why no worker can run one)",
          responses: { "200": { description: "The queue", content: json(ref("QueueState")) } },
        },
      },
      "/api/workers": {
        get: {
          summary: "The live workers: host, device, memory, loaded model, models, kinds, the capability classes they take, state",
          responses: { "200": { description: "The workers", content: json(ref("Workers")) } },
        },
      },
      "/api/queue/pause": {
        post: { summary: "Pause the queue: running jobs finish, no worker takes a new one", responses: { "200": { description: "The queue, paused", content: json(ref("QueueState")) } } },
      },
      "/api/queue/resume": {
        post: { summary: "Resume the queue", responses: { "200": { description: "The queue, running", content: json(ref("QueueState")) } } },
      },
      "/api/jobs/{id}/events": { parameters: [idParam("job")], get: { summary: "The job's live events", responses: { "200": sse, "404": error("No such job") } } },
      "/api/events": { get: { summary: "Every job's live events (snapshot: jobs queued or running)", responses: { "200": sse } } },
      "/api/jobs/{id}/video": {
        parameters: [idParam("job")],
        get: { summary: "The MP4 (once the job succeeded)", responses: { "200": binary(["video/mp4"], "The video"), ...ranged, "404": error("No such job or no video yet") } },
      },
      "/api/jobs/{id}/chain": {
        parameters: [idParam("job")],
        get: {
          summary: "A continuation's joined MP4: every part of its chain up to this one, each join frame once (once the job succeeded)",
          responses: { "200": binary(["video/mp4"], "The joined video"), ...ranged, "404": error("No such job, not a continuation, or not succeeded yet") },
        },
      },
      "/api/jobs/{id}/poster": {
        parameters: [idParam("job")],
        get: { summary: "The poster image", responses: { "200": binary(["image/jpeg"], "The poster"), ...ranged, "404": error("No such job or no poster yet") } },
      },
      "/api/jobs/{id}/preview": {
        parameters: [idParam("job")],
        get: { summary: "The latest preview while sampling", responses: { "200": binary(["image/webp"], "The preview"), ...ranged, "404": error("No preview yet") } },
      },
      "/api/uploads": {
        post: {
          summary: `Upload an input: PNG/JPEG/WebP image (≤ ${UPLOAD_LIMITS.maxImagePixels / 1e6} MP) or MP4/WebM/MOV video (≤ ${UPLOAD_LIMITS.maxVideoSeconds} s, ≤ ${UPLOAD_LIMITS.maxVideoSide} px, ≤ ${UPLOAD_LIMITS.maxVideoFrames} frames)`,
          requestBody: {
            required: true,
            content: { "multipart/form-data": { schema: { type: "object", required: ["file"], properties: { file: { type: "string", format: "binary" } } } } },
          },
          responses: {
            "201": { description: "The stored upload", content: json(ref("Upload")) },
            "400": error("The file is missing, empty or corrupt"),
            "413": error(`The file is over ${UPLOAD_LIMITS.maxBytes / 1024 / 1024} MB`),
            "415": error("Not a supported image or video format"),
            "422": error("The image or video is over the limits"),
          },
        },
      },
      "/api/uploads/{id}": {
        parameters: [idParam("upload")],
        get: { summary: "One upload", responses: { "200": { description: "The upload", content: json(ref("Upload")) }, "404": error("No such upload") } },
      },
      "/api/uploads/{id}/file": {
        parameters: [idParam("upload")],
        get: { summary: "The stored file (images in their own format, re-encoded)", responses: { "200": binary(["image/png", "image/jpeg", "image/webp", "video/mp4", "video/webm", "video/quicktime"], "The file"), ...ranged, "404": error("No such upload") } },
      },
      "/api/uploads/{id}/thumbnail": {
        parameters: [idParam("upload")],
        get: { summary: "A small JPEG of the upload", responses: { "200": binary(["image/jpeg"], "The thumbnail"), ...ranged, "404": error("No such upload") } },
      },
      "/api/models": {
        get: { summary: "Installed models", responses: { "200": { description: "The models", content: json({ type: "array", items: ref("Model") }) } } },
      },
      "/api/models/{name}": {
        parameters: [{ name: "name", in: "path", required: true, description: "The model's name", schema: { type: "string" } }],
        patch: {
          summary: "Rename the model and/or make it the default",
          requestBody: { required: true, content: json(ref("UpdateModelRequest")) },
          responses: {
            "200": { description: "The model after the change", content: json(ref("Model")) },
            "400": error("A bad field"),
            "404": error("No such model"),
            "409": error("The new name is taken, or queued or running jobs use the model (rename)"),
          },
        },
        delete: {
          summary: "Delete the model's folder",
          responses: { "204": { description: "Deleted" }, "404": error("No such model"), "409": error("Queued or running jobs use the model") },
        },
      },
      "/api/model-installs": {
        get: { summary: "Installs queued, running and finished in the last day, newest first", responses: { "200": { description: "{ installs: Install[] }" } } },
        post: {
          summary: "Install a model from a Hugging Face repo (HF_ENDPOINT, HF_TOKEN of the worker) or a path on the server; a worker downloads, checks and converts it",
          requestBody: { required: true, content: json(ref("InstallRequest")) },
          responses: {
            "202": { description: "Queued (Location: the install)", content: json(ref("Install")) },
            "400": error("A bad field, or source.path does not exist"),
            "409": error("A model of that name is installed or being installed"),
          },
        },
      },
      "/api/model-installs/{id}": {
        parameters: [idParam("install")],
        get: { summary: "One install with its progress", responses: { "200": { description: "The install", content: json(ref("Install")) }, "404": error("No such install") } },
      },
      "/api/model-installs/{id}/cancel": {
        parameters: [idParam("install")],
        post: {
          summary: "Cancel an install; nothing of it stays in the models folder",
          responses: { "200": { description: "The install (canceled, or running until its worker stops)", content: json(ref("Install")) }, "404": error("No such install"), "409": error("It has already ended") },
        },
      },
      "/api/model-installs/events": {
        get: {
          summary: 'Live installs: first "snapshot" ({ installs }), then "install" events ({ type, at, install }) carrying the whole install with its progress (bytes, rate, ETA)',
          responses: { "200": { description: "Server-Sent Events", content: { "text/event-stream": { schema: { type: "string" } } } } },
        },
      },
      "/api/login": {
        get: {
          summary: "Whether a token is required, and whether the caller has access",
          security: [],
          responses: { "200": { description: "{ authRequired, authenticated }" } },
        },
        post: {
          summary: "Exchange the token for a session cookie",
          security: [],
          requestBody: { required: true, content: json(ref("LoginRequest")) },
          responses: { "200": { description: "Logged in (Set-Cookie)" }, "400": error("No token given"), "401": error("Wrong token") },
        },
      },
      "/api/logout": { post: { summary: "End the cookie session", security: [], responses: { "204": { description: "Logged out" } } } },
      "/api/health": { get: { summary: "Database, Redis, the storage root's marker and live workers (each with state: ready, or draining after SIGTERM)", responses: { "200": { description: "Healthy" }, "503": { description: "Degraded" } } } },
      "/api/openapi.json": { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1" } } } },
    },
  };
}
