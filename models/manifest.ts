/**
 * The manifest of a converted model folder (`manifest.json`): which architecture and variant, which graph
 * files implement which component, their configuration and precision, the text length, the latent
 * normalisation constants, and the generation defaults the studio offers for this model.
 */
import { readFile, writeFile, rename } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { DISTILLED_RECIPES, SOLVERS } from "../lib/schemas/generation.ts";
import { PRECISIONS } from "./nn.ts";

export const MANIFEST_FILE = "manifest.json";

const precision = z.enum(PRECISIONS);

export const ditConfigSchema = z.object({
  modelType: z.enum(["t2v", "i2v"]),
  patchSize: z.tuple([z.number(), z.number(), z.number()]),
  textLen: z.number().int().positive(),
  inDim: z.number().int().positive(),
  dim: z.number().int().positive(),
  ffnDim: z.number().int().positive(),
  freqDim: z.number().int().positive(),
  textDim: z.number().int().positive(),
  outDim: z.number().int().positive(),
  numHeads: z.number().int().positive(),
  numLayers: z.number().int().positive(),
  eps: z.number(),
  imageDim: z.number().int().positive().nullable(),
});

/** A LoRA merged into the DiT at conversion (models/convert/lora.ts): which file, how strongly, its exact bytes. */
export const mergedLoraSchema = z.object({
  file: z.string(),
  strength: z.number(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const transformerSchema = z.object({
  /** The whole forward pass. */
  file: z.string(),
  /**
   * The same forward cut into embedding, blocks and head graphs (models/wan/dit.ts), which step caching needs.
   * Absent from folders converted before the split: those run the whole graph, without step caching.
   */
  stages: z.object({ embedding: z.string(), blocks: z.string(), head: z.string() }).optional(),
  precision,
  config: ditConfigSchema,
  /** Absent when none were merged (and in folders converted before LoRA merging existed). */
  loras: z.array(mergedLoraSchema).optional(),
});

const vaeSchema = z.object({
  /**
   * The streaming graphs (models/wan/vae.ts). The per-frame graphs are absent from folders converted before
   * the per-frame split, whose step graphs run the whole network (the engine runs both forms).
   */
  files: z.object({
    encoderFirst: z.string(),
    encoderFrame: z.string().optional(),
    encoderStep: z.string(),
    decoderFirst: z.string(),
    decoderStep: z.string(),
    decoderFrame: z.string().optional(),
  }),
  precision,
  zDim: z.number().int().positive(),
  /** Pixels per latent cell in space, frames per latent frame in time (causal: 1 + 4k frames → 1 + k latents). */
  scaleSpatial: z.number().int().positive(),
  scaleTemporal: z.number().int().positive(),
  latentsMean: z.array(z.number()),
  latentsStd: z.array(z.number()),
  config: z.record(z.string(), z.unknown()),
});

const textEncoderSchema = z.object({
  file: z.string(),
  precision,
  /** Tokenizer folder (tokenizer.json) relative to the model folder, when one was found. */
  tokenizer: z.string().nullable(),
  config: z.record(z.string(), z.unknown()),
});

const imageEncoderSchema = z.object({
  file: z.string(),
  precision,
  config: z.record(z.string(), z.unknown()),
});

export const generationDefaultsSchema = z.object({
  width: z.number().int(),
  height: z.number().int(),
  frames: z.number().int(),
  steps: z.number().int(),
  guidance: z.number(),
  shift: z.number(),
  solver: z.enum(SOLVERS),
  /** Width×height presets valid for this model (multiples of 16), first = default. */
  sizes: z.array(z.tuple([z.number().int(), z.number().int()])),
  /** The largest frame count offered in the UI. */
  maxFrames: z.number().int(),
  fps: z.number(),
});

export const manifestSchema = z.object({
  format: z.literal("wan-studio-model"),
  version: z.literal(1),
  name: z.string(),
  architecture: z.literal("wan2.1"),
  /** t2v: text-to-video DiT (16 input channels); i2v: image-conditioned DiT (36 channels, CLIP). */
  variant: z.enum(["t2v", "i2v"]),
  /** "tiny" marks the built-in random-weight test model. */
  tiny: z.boolean(),
  createdAt: z.string(),
  source: z.string(),
  textLen: z.number().int().positive(),
  components: z.object({
    transformer: transformerSchema.optional(),
    vae: vaeSchema.optional(),
    textEncoder: textEncoderSchema.optional(),
    imageEncoder: imageEncoderSchema.optional(),
  }),
  /** A cheap latent → RGB affine map for previews while sampling (fitted with the model's own VAE). */
  preview: z.object({ weights: z.array(z.number()).length(48), bias: z.array(z.number()).length(3) }).nullable(),
  defaults: generationDefaultsSchema,
  /**
   * The few-step recipe of a distilled checkpoint (lib/engine/schedulers/distilled-recipes.ts), recognised at
   * conversion; null or absent for models sampled the base model's way.
   */
  recipe: z.enum(DISTILLED_RECIPES).nullable().optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type GenerationDefaults = z.infer<typeof generationDefaultsSchema>;
export type MergedLora = z.infer<typeof mergedLoraSchema>;

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

export async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new ManifestError(`${file}: ${(e as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ManifestError(`${file}: ${issue.path.join(".") || "manifest"} ${issue.message}`);
  }
  return parsed.data;
}

/** Writes the manifest atomically (temp file + rename), so a reader never sees half a file. */
export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const file = path.join(dir, MANIFEST_FILE);
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(manifestSchema.parse(manifest), null, 2) + "\n");
  await rename(tmp, file);
}

/** Generation defaults of the real Wan2.1-T2V-1.3B (official generate.py, _validate_args: README advice and the 1.3B Gradio demo). */
export const WAN_1_3B_DEFAULTS: GenerationDefaults = {
  width: 832,
  height: 480,
  frames: 81,
  steps: 50,
  guidance: 6,
  shift: 8,
  solver: "unipc",
  sizes: [
    [832, 480],
    [480, 832],
    [624, 624],
    [704, 544],
    [544, 704],
  ],
  maxFrames: 81,
  fps: 16,
};

/** Small defaults for the tiny random-weight model, so a CPU generation takes seconds. */
export const TINY_DEFAULTS: GenerationDefaults = {
  width: 160,
  height: 96,
  frames: 9,
  steps: 8,
  guidance: 5,
  shift: 5,
  solver: "unipc",
  sizes: [
    [160, 96],
    [96, 160],
    [128, 128],
    [144, 112],
    [112, 144],
  ],
  maxFrames: 33,
  fps: 16,
};
