/**
 * The studio's configuration: every process (web server, worker, CLIs) reads its settings here, from
 * environment variables validated with zod. A bad value stops start-up with a message that names the
 * variable, what was expected and what was found. `.env.example` documents the same variables.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { z } from "zod";
import { EXECUTION_PROVIDERS, type ExecutionProvider } from "./engine/providers.ts";
import { JOB_KINDS, type JobKind } from "./schemas/job-vocabulary.ts";
import { webhookUrlSchema } from "./webhooks/url.ts";

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

const port = z.coerce
  .number({ error: "must be a number" })
  .int("must be an integer")
  .min(1, "must be between 1 and 65535")
  .max(65535, "must be between 1 and 65535");

/** CHECKPOINT_EVERY_STEPS when unset: a checkpoint costs one file write per 5 steps; a crash loses at most 4 steps. */
export const DEFAULT_CHECKPOINT_EVERY_STEPS = 5;

const envSchema = z.object({
  DATA_DIR: z.string().min(1, "must not be empty").default("data"),
  MODELS_DIR: z.string().min(1, "must not be empty").optional(),
  DATABASE_URL: z
    .string()
    .refine((v) => /^(file:|postgres(ql)?:\/\/)/.test(v), {
      message: 'must start with "file:" (SQLite) or "postgresql://" (PostgreSQL)',
    })
    .optional(),
  REDIS_URL: z
    .string()
    .refine((v) => /^rediss?:\/\//.test(v), { message: 'must start with "redis://" or "rediss://"' })
    .default("redis://127.0.0.1:6379"),
  /** Namespace of every Redis key and channel; default: one per data folder (see defaultRedisPrefix). */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1–64 letters, digits, '.', '_' or '-'")
    .optional(),
  HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:[\]-]+$/, "must be a host name or IP address")
    .default("127.0.0.1"),
  PORT: port.default(3000),
  STUDIO_TOKEN: z
    .string()
    .min(16, "must be at least 16 characters (it guards the studio when it listens beyond loopback)")
    .optional(),
  /** Execution providers the worker asks ONNX Runtime for, in order of preference. */
  EXECUTION_PROVIDERS: z
    .string()
    .default("auto")
    .refine(
      (v) => v === "auto" || v.split(",").every((p) => (EXECUTION_PROVIDERS as readonly string[]).includes(p.trim())),
      { message: `must be "auto" or a comma-separated list of ${EXECUTION_PROVIDERS.join(", ")}` },
    ),
  /** Intra-op threads for ONNX Runtime on CPU; 0 lets ONNX Runtime use every core. */
  ORT_THREADS: z.coerce.number({ error: "must be a number" }).int("must be an integer").min(0).default(0),
  /**
   * Where the umT5 text encoder runs: "cpu" (default) keeps its 11 GB (fp16) off the GPU — it runs once per
   * prompt and its embeddings are cached, as the official 8 GB recipe does with --t5_cpu — or "gpu".
   */
  TEXT_ENCODER_DEVICE: z.enum(["cpu", "gpu"], { error: 'must be "cpu" or "gpu"' }).default("cpu"),
  /** Jobs one worker process runs at once (one per device; the default fits one GPU or the CPU). */
  WORKER_CONCURRENCY: z.coerce.number({ error: "must be a number" }).int("must be an integer").min(1).max(8).default(1),
  /** Memory (GiB) the worker advertises for routing, instead of what its GPU driver (or RAM, on CPU) says. */
  WORKER_MEMORY_GB: z.coerce.number({ error: "must be a number" }).positive("must be more than 0").max(4096).optional(),
  /** Job kinds the worker takes (default: all). */
  WORKER_KINDS: z
    .string()
    .refine((v) => v.split(",").every((k) => (JOB_KINDS as readonly string[]).includes(k.trim())), {
      message: `must be a comma-separated list of ${JOB_KINDS.join(", ")}`,
    })
    .optional(),
  /** How long (ms) a job waits for a worker that has its model loaded before any other capable worker takes it. */
  ROUTING_GRACE_MS: z.coerce.number({ error: "must be a number" }).int("must be an integer").min(0).max(3_600_000).default(15_000),
  /**
   * BullMQ lock duration and stalled-check interval in ms. Every worker must use the same value: the
   * stalled check is throttled by the interval of whichever worker ran it last.
   */
  STUDIO_LOCK_MS: z.coerce
    .number({ error: "must be a number" })
    .int("must be an integer")
    .min(500, "must be at least 500")
    .max(600_000, "must be at most 600000")
    .default(30_000),
  /**
   * Every how many denoising steps a worker stores a checkpoint in the job's folder, so a job whose worker
   * crashed continues from there (bit-identical result); 0 turns checkpoints off.
   */
  CHECKPOINT_EVERY_STEPS: z.coerce
    .number({ error: "must be a number" })
    .int("must be an integer")
    .min(0, "must be 0 (off) or a positive number of steps")
    .max(1000, "must be at most 1000")
    .default(DEFAULT_CHECKPOINT_EVERY_STEPS),
  /** Told when any job ends (lib/webhooks), besides a job's own webhookUrl. */
  WEBHOOK_URL: webhookUrlSchema("").optional(),
  /** Signs every webhook body (HMAC-SHA256); without it no webhook is sent. */
  WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  /** The Hugging Face Hub (or a mirror) that model installs download from. */
  HF_ENDPOINT: z
    .string()
    .refine((v) => /^https?:\/\/[^/]+/.test(v), { message: 'must be an http(s) URL such as "https://huggingface.co"' })
    .default("https://huggingface.co"),
  /** Sent as Authorization: Bearer to HF_ENDPOINT, for gated and private repos. */
  HF_TOKEN: z.string().optional(),
});

export type StudioConfig = {
  dataDir: string;
  modelsDir: string;
  databaseUrl: string;
  databaseProvider: "sqlite" | "postgresql";
  redisUrl: string;
  /** Prefix of every Redis key and channel, so that studios sharing one Redis never see each other's jobs. */
  redisPrefix: string;
  host: string;
  port: number;
  studioToken: string | undefined;
  /** True when HOST is not a loopback address, so requests must carry STUDIO_TOKEN. */
  exposed: boolean;
  executionProviders: "auto" | ExecutionProvider[];
  ortThreads: number;
  textEncoderDevice: "cpu" | "gpu";
  workerConcurrency: number;
  /** WORKER_MEMORY_GB: the memory a worker advertises instead of the detected one. */
  workerMemoryGiB: number | undefined;
  /** The job kinds a worker takes. */
  workerKinds: JobKind[];
  /** How long a job waits for a worker with its model loaded before another capable worker takes it. */
  routingGraceMs: number;
  /** Job lock duration = stalled-check interval (ms): how soon a crashed worker's job is picked up again. */
  lockMs: number;
  /** Denoising steps between two checkpoints of a running job; 0: none are written. */
  checkpointEverySteps: number;
  /** Where every job's end is announced (besides a job's own URL); requires webhookSecret. */
  webhookUrl: string | undefined;
  webhookSecret: string | undefined;
  /** Where model installs download from, and the token for gated repos. */
  hub: { endpoint: string; token?: string };
};

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      "Invalid configuration:\n" +
        problems.map((p) => `  ${p.variable} ${p.message}`).join("\n") +
        "\nSee .env.example for every variable and its default.",
    );
    this.name = "ConfigError";
  }
}

/** Parses and validates the environment; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): StudioConfig {
  // Empty strings count as unset, as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? "environment");
        const got = cleaned[variable];
        return { variable, message: `${issue.message}${got !== undefined ? ` (got ${JSON.stringify(got)})` : ""}` };
      }),
    );
  }
  const e = parsed.data;
  const dataDir = path.resolve(cwd, e.DATA_DIR);
  const modelsDir = path.resolve(cwd, e.MODELS_DIR ?? path.join(e.DATA_DIR, "models"));
  const databaseUrl = e.DATABASE_URL ?? `file:${path.join(dataDir, "studio.db")}`;
  const exposed = !LOOPBACK_HOSTS.has(e.HOST);
  if (exposed && !e.STUDIO_TOKEN) {
    throw new ConfigError([
      {
        variable: "STUDIO_TOKEN",
        message: `is required when HOST (${e.HOST}) is not a loopback address: set a secret of at least 16 characters`,
      },
    ]);
  }
  if (e.WEBHOOK_URL && !e.WEBHOOK_SECRET) {
    throw new ConfigError([{ variable: "WEBHOOK_SECRET", message: "is required when WEBHOOK_URL is set: webhooks are always signed" }]);
  }
  return {
    dataDir,
    modelsDir,
    databaseUrl,
    databaseProvider: databaseUrl.startsWith("file:") ? "sqlite" : "postgresql",
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX ?? defaultRedisPrefix(dataDir),
    host: e.HOST,
    port: e.PORT,
    studioToken: e.STUDIO_TOKEN,
    exposed,
    executionProviders:
      e.EXECUTION_PROVIDERS === "auto"
        ? "auto"
        : (e.EXECUTION_PROVIDERS.split(",").map((p) => p.trim()) as ExecutionProvider[]),
    ortThreads: e.ORT_THREADS,
    textEncoderDevice: e.TEXT_ENCODER_DEVICE,
    workerConcurrency: e.WORKER_CONCURRENCY,
    workerMemoryGiB: e.WORKER_MEMORY_GB,
    workerKinds: e.WORKER_KINDS ? (e.WORKER_KINDS.split(",").map((k) => k.trim()) as JobKind[]) : [...JOB_KINDS],
    routingGraceMs: e.ROUTING_GRACE_MS,
    lockMs: e.STUDIO_LOCK_MS,
    checkpointEverySteps: e.CHECKPOINT_EVERY_STEPS,
    webhookUrl: e.WEBHOOK_URL,
    webhookSecret: e.WEBHOOK_SECRET,
    hub: { endpoint: e.HF_ENDPOINT.replace(/\/+$/, ""), token: e.HF_TOKEN },
  };
}

/**
 * The Redis namespace of a data folder: two studios with different data folders (and so different
 * databases) on one Redis get different queues, channels and worker keys without any setting.
 */
export function defaultRedisPrefix(absoluteDataDir: string): string {
  return `studio-${createHash("sha256").update(absoluteDataDir).digest("hex").slice(0, 12)}`;
}

let cached: StudioConfig | undefined;

/** The process-wide configuration, validated once. */
export function config(): StudioConfig {
  cached ??= loadConfig();
  return cached;
}

/** Absolute path of the SQLite file for a `file:` URL (relative paths resolve against the working directory). */
export function sqlitePath(databaseUrl: string, cwd = process.cwd()): string {
  if (!databaseUrl.startsWith("file:")) throw new Error(`not a SQLite URL: ${databaseUrl}`);
  return path.resolve(cwd, databaseUrl.slice("file:".length));
}
