/**
 * The models API's shapes, as zod schemas: an install request (a hub repo or a path on the server, a name,
 * a precision), an install as the API reports it, and the model edits (rename, default). The route handlers
 * parse with them and /api/openapi.json is generated from them.
 */
import { z } from "zod";
import { REPO_ID, REVISION } from "../hub/repo.ts";
import { MODEL_NAME } from "../jobs/schemas.ts";
import { PRECISIONS } from "../../models/nn.ts";

const modelName = (field: string) =>
  z
    .string({ error: `${field} must be a string` })
    .regex(MODEL_NAME, `${field} must be 1–100 characters: letters, digits, ".", "-" and "_", starting with a letter or digit`);

export const hubSourceSchema = z.strictObject({
  repo: z.string({ error: "source.repo must be a string" }).regex(REPO_ID, 'source.repo must be a Hugging Face repo id such as "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"'),
  revision: z.string({ error: "source.revision must be a string" }).regex(REVISION, "source.revision must be a branch, tag or commit").default("main"),
  /** Glob patterns of repo paths to download (`*` matches across folders); default: configs, safetensors, tokenizer files. */
  include: z
    .array(z.string().min(1, "source.include patterns must not be empty").max(200), { error: "source.include must be a list of patterns" })
    .max(50)
    .optional(),
});

export const pathSourceSchema = z.strictObject({
  path: z
    .string({ error: "source.path must be a string" })
    .min(1)
    .max(4096)
    .refine((p) => p.startsWith("/"), "source.path must be an absolute path on the server"),
});

export const installRequestSchema = z.strictObject({
  source: z.union([hubSourceSchema, pathSourceSchema], { error: "source must be { repo, revision?, include? } or { path }" }),
  /** The installed model's name; default: the repo's (or file's) name. */
  name: modelName("name").optional(),
  precision: z.enum(PRECISIONS, { error: `precision must be one of ${PRECISIONS.join(", ")}` }).default("fp32"),
  /** LoRAs merged into the DiT at conversion (models/convert/lora.ts): safetensors files on the server. */
  loras: z
    .array(
      z.strictObject({
        file: z
          .string({ error: "loras[].file must be a string" })
          .max(4096)
          .refine((p) => p.startsWith("/") && p.endsWith(".safetensors"), "loras[].file must be an absolute path to a .safetensors file on the server"),
        strength: z.number({ error: "loras[].strength must be a number" }).min(-10).max(10).default(1),
      }),
      { error: "loras must be a list of { file, strength }" },
    )
    .max(16)
    .default([]),
});
export type InstallRequest = z.infer<typeof installRequestSchema>;

export const INSTALL_STATUSES = ["queued", "running", "succeeded", "failed", "canceled"] as const;
export type InstallStatus = (typeof INSTALL_STATUSES)[number];

export const installProgressSchema = z.object({
  phase: z.enum(["download", "convert"]),
  done: z.number(),
  total: z.number(),
  rateBps: z.number().nullable(),
  etaS: z.number().nullable(),
  item: z.string().nullable(),
});

export const installSchema = z.object({
  id: z.string(),
  source: z.union([hubSourceSchema, pathSourceSchema]),
  name: z.string(),
  precision: z.enum(PRECISIONS),
  loras: z.array(z.object({ file: z.string(), strength: z.number() })),
  status: z.enum(INSTALL_STATUSES),
  progress: installProgressSchema.nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type InstallJson = z.infer<typeof installSchema>;

export const updateModelSchema = z
  .strictObject({
    name: modelName("name").optional(),
    default: z.literal(true, { error: "default can only be set to true (make another model the default instead)" }).optional(),
  })
  .refine((b) => b.name !== undefined || b.default !== undefined, { message: "give name or default", path: ["body"] });
