/**
 * The built-in tiny model: random weights of the exact Wan 2.1 architecture at toy size (DiT, causal 3-D VAE,
 * umT5 and a small tokenizer of the same kind), written as a Diffusers-layout pipeline and converted with the
 * same converter real weights go through. It drives the tests and is the studio's out-of-the-box model.
 * With `i2v`, the pipeline is a Fun-InP-style image-to-video one (docs/model-notes.md#image-to-video): a 36-channel DiT with the
 * image projector and image key/value branch, and a CLIP vision tower in Hugging Face layout (official wan/modules/clip.py, CLIPModel.visual).
 *
 * The tensor lists come from the model definitions themselves (built against a recorder), so the random
 * checkpoint always matches what the converter expects.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { convertModel } from "../../models/convert/convert.ts";
import { GraphBuilder } from "../../models/graph/builder.ts";
import type { Manifest } from "../../models/manifest.ts";
import { buildClipVision, type ClipVisionConfig } from "../../models/clip.ts";
import { clipConfigToHF, clipTensorsToHF } from "../../models/clip-checkpoint.ts";
import { Params } from "../../models/nn.ts";
import { buildUMT5Encoder, type UMT5Config } from "../../models/umt5.ts";
import { buildWanDiT } from "../../models/wan/dit.ts";
import { ditConfigToDiffusers, ditKeyToDiffusers } from "../../models/wan/dit-checkpoint.ts";
import {
  buildVaeDecoderFirst,
  buildVaeDecoderStep,
  buildVaeEncoderFirst,
  buildVaeEncoderStep,
} from "../../models/wan/vae.ts";
import type { WanVaeConfig } from "../../models/wan/vae-layout.ts";
import { vaeKeyToDiffusers } from "../../models/wan/vae-checkpoint.ts";
import { RecordingWeights } from "../../models/weights/recording.ts";
import { SafetensorsWriter, writeSafetensors } from "../../models/weights/safetensors.ts";
import { CLIP_MEAN, CLIP_STD } from "../engine/clip.ts";
import { gaussianNoise } from "../engine/noise.ts";
import type { DistilledRecipe } from "../schemas/generation.ts";
import { writeTinyTokenizer } from "./tiny-tokenizer.ts";
import { fitModelPreview } from "./preview-map.ts";
import { TINY_CLIP, TINY_DIT, TINY_DIT_I2V, TINY_T5, TINY_VAE } from "./tiny-config.ts";

export { TINY_CLIP, TINY_DIT, TINY_DIT_I2V, TINY_T5, TINY_VAE } from "./tiny-config.ts";

export const TINY_MODEL_NAME = "wan2.1-tiny";

export type TinyOptions = {
  outDir: string;
  /** The model's name in its manifest (default: the folder's name). */
  name?: string;
  seed?: number;
  /** An image-to-video model (TINY_DIT_I2V + TINY_CLIP) instead of text-to-video. */
  i2v?: boolean;
  /**
   * A tiny "distilled" model: the same random weights, with a few-step recipe in its manifest, so the
   * recipe's sampler and presets can be tested end to end (the weights are no distillation, only the plumbing is).
   */
  recipe?: DistilledRecipe;
  log?: (line: string) => void;
};

/** Parameter names and shapes the graph builders read, in the order they read them. */
function parameters(...builds: ((g: GraphBuilder, p: Params) => void)[]): Map<string, number[]> {
  const rec = new RecordingWeights("tiny");
  for (const build of builds) {
    const g = new GraphBuilder("enumerate");
    build(g, new Params(g, rec, "", "fp32"));
  }
  return rec.requested;
}

/** FNV-1a of the name, so every tensor gets its own reproducible stream whatever the build order. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Non-trivial random values as the fixtures use (goldens.json → meta.weight_init): norm weights and VAE gammas
 * 1 + 0.1z, biases 0.05z, modulation tables 0.1z, token embeddings z, relative-position tables 0.5z, other
 * matrices z/√fan_in. Nothing is zero, so every tensor changes the outputs.
 */
function initialValues(name: string, shape: number[], seed: number): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  // Philox keys take 53-bit seeds: the model seed (mod 2^21) in the high bits, the name's hash in the low 32.
  const z = gaussianNoise((seed % 2 ** 21) * 2 ** 32 + nameHash(name), count);
  let scale: number;
  let offset = 0;
  if ((shape.length === 1 && name.endsWith(".weight")) || name.endsWith("gamma")) {
    scale = 0.1;
    offset = 1;
  } else if (name.endsWith(".bias")) scale = 0.05;
  else if (/modulation|scale_shift_table/.test(name)) scale = 0.1;
  else if (name === "shared.weight") scale = 1;
  else if (name.includes("relative_attention_bias")) scale = 0.5;
  else if (name === "visual.cls_embedding" || name === "visual.pos_embedding") scale = 1 / Math.sqrt(shape[shape.length - 1]); // as open-clip (and the fixtures)
  else scale = 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < count; i++) z[i] = offset + scale * z[i];
  return z;
}

async function writeCheckpoint(
  file: string,
  params: Map<string, number[]>,
  rename: (name: string) => string,
  seed: number,
): Promise<void> {
  const specs = [...params].map(([name, shape]) => ({ name: rename(name), official: name, dtype: "float32" as const, shape }));
  const writer = await SafetensorsWriter.create(file, specs, { format: "pt" });
  for (const s of specs) await writer.write(s.name, initialValues(s.official, s.shape, seed));
  await writer.close();
}

function vaeConfigToDiffusers(cfg: WanVaeConfig): Record<string, unknown> {
  return {
    _class_name: "AutoencoderKLWan",
    _diffusers_version: "0.33.0",
    base_dim: cfg.baseDim,
    z_dim: cfg.zDim,
    dim_mult: cfg.dimMult,
    num_res_blocks: cfg.numResBlocks,
    attn_scales: [],
    temperal_downsample: cfg.temporalDownsample,
    dropout: 0.0,
    latents_mean: cfg.latentsMean,
    latents_std: cfg.latentsStd,
  };
}

function t5ConfigToHF(cfg: UMT5Config): Record<string, unknown> {
  return {
    architectures: ["UMT5EncoderModel"],
    model_type: "umt5",
    vocab_size: cfg.vocab,
    d_model: cfg.dModel,
    d_kv: cfg.dKv,
    num_heads: cfg.numHeads,
    d_ff: cfg.dFf,
    num_layers: cfg.numLayers,
    relative_attention_num_buckets: cfg.numBuckets,
    relative_attention_max_distance: cfg.maxDistance,
    layer_norm_epsilon: cfg.eps,
    feed_forward_proj: "gated-gelu",
    dense_act_fn: "gelu_new",
    is_gated_act: true,
    eos_token_id: 1,
    pad_token_id: 0,
    torch_dtype: "float32",
  };
}

/** The CLIP vision tower in HF layout: official tensors split (q/k/v), squeezed and transposed into HF's (clip-checkpoint.ts). */
async function writeClipCheckpoint(file: string, params: Map<string, number[]>, seed: number): Promise<void> {
  const tensors = [...params].flatMap(([name, shape]) => clipTensorsToHF(name, shape, initialValues(name, shape, seed)));
  await writeSafetensors(file, tensors, { format: "pt" });
}

/** What `CLIPImageProcessor` saves; Diffusers' I2V pipeline uses it (the studio preprocesses as Wan does, lib/engine/clip.ts). */
function clipImageProcessorConfig(cfg: ClipVisionConfig): Record<string, unknown> {
  return {
    image_processor_type: "CLIPImageProcessor",
    do_resize: true,
    size: { shortest_edge: cfg.imageSize },
    resample: 3,
    do_center_crop: true,
    crop_size: { height: cfg.imageSize, width: cfg.imageSize },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [...CLIP_MEAN],
    image_std: [...CLIP_STD],
    do_convert_rgb: true,
  };
}

const json = (v: unknown) => JSON.stringify(v, null, 2) + "\n";

/** Writes the tiny pipeline in Diffusers layout under `dir` (model_index.json + one folder per component). */
export async function writeTinyDiffusersPipeline(dir: string, seed: number, opts: { i2v?: boolean } = {}): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  const folders = ["transformer", "vae", "text_encoder", "tokenizer", "scheduler"];
  if (opts.i2v) folders.push("image_encoder", "image_processor");
  for (const sub of folders) await mkdir(path.join(dir, sub), { recursive: true });

  const ditConfig = opts.i2v ? TINY_DIT_I2V : TINY_DIT;
  const dit = parameters((g, p) => buildWanDiT(g, p, ditConfig));
  await writeCheckpoint(path.join(dir, "transformer", "diffusion_pytorch_model.safetensors"), dit, ditKeyToDiffusers, seed);
  await writeFile(path.join(dir, "transformer", "config.json"), json(ditConfigToDiffusers(ditConfig)));

  if (opts.i2v) {
    const clip = parameters((g, p) => buildClipVision(g, p, TINY_CLIP));
    await writeClipCheckpoint(path.join(dir, "image_encoder", "model.safetensors"), clip, seed);
    await writeFile(path.join(dir, "image_encoder", "config.json"), json(clipConfigToHF(TINY_CLIP)));
    await writeFile(path.join(dir, "image_processor", "preprocessor_config.json"), json(clipImageProcessorConfig(TINY_CLIP)));
  }

  const vae = parameters(
    ...[buildVaeEncoderFirst, buildVaeEncoderStep, buildVaeDecoderFirst, buildVaeDecoderStep].map(
      (build) => (g: GraphBuilder, p: Params) => build(g, p, TINY_VAE),
    ),
  );
  await writeCheckpoint(
    path.join(dir, "vae", "diffusion_pytorch_model.safetensors"),
    vae,
    (k) => vaeKeyToDiffusers(k, TINY_VAE.numResBlocks),
    seed,
  );
  await writeFile(path.join(dir, "vae", "config.json"), json(vaeConfigToDiffusers(TINY_VAE)));

  const t5 = parameters((g, p) => buildUMT5Encoder(g, p, TINY_T5));
  await writeCheckpoint(path.join(dir, "text_encoder", "model.safetensors"), t5, (k) => k, seed);
  await writeFile(path.join(dir, "text_encoder", "config.json"), json(t5ConfigToHF(TINY_T5)));

  await writeTinyTokenizer(path.join(dir, "tokenizer"), { vocabSize: TINY_T5.vocab });
  await writeFile(
    path.join(dir, "scheduler", "scheduler_config.json"),
    json({
      _class_name: "UniPCMultistepScheduler",
      prediction_type: "flow_prediction",
      use_flow_sigmas: true,
      flow_shift: 5.0,
      num_train_timesteps: 1000,
      solver_order: 2,
      solver_type: "bh2",
      predict_x0: true,
      lower_order_final: true,
      final_sigmas_type: "zero",
    }),
  );
  await writeFile(
    path.join(dir, "model_index.json"),
    json({
      _class_name: opts.i2v ? "WanImageToVideoPipeline" : "WanPipeline",
      _diffusers_version: "0.33.0",
      ...(opts.i2v
        ? {
            image_encoder: ["transformers", "CLIPVisionModelWithProjection"],
            image_processor: ["transformers", "CLIPImageProcessor"],
          }
        : {}),
      scheduler: ["diffusers", "UniPCMultistepScheduler"],
      text_encoder: ["transformers", "UMT5EncoderModel"],
      tokenizer: ["transformers", "T5TokenizerFast"],
      transformer: ["diffusers", "WanTransformer3DModel"],
      vae: ["diffusers", "AutoencoderKLWan"],
    }),
  );
}

/** The Diffusers-layout source kept beside the converted model (a few MB), for inspection and reconversion. */
export const TINY_SOURCE_DIR = "source-diffusers";

export async function generateTinyModel(o: TinyOptions): Promise<Manifest> {
  const seed = o.seed ?? 0;
  const log = o.log ?? (() => {});
  const source = path.join(o.outDir, TINY_SOURCE_DIR);
  const dit = o.i2v ? TINY_DIT_I2V : TINY_DIT;
  log(`writing a tiny random-weight Wan 2.1 ${dit.modelType} pipeline (seed ${seed}) in Diffusers layout`);
  await writeTinyDiffusersPipeline(source, seed, { i2v: o.i2v });
  log("converting it to ONNX");
  await convertModel({ source, outDir: o.outDir, precision: "fp32", textLen: dit.textLen, tiny: true, name: o.name, recipe: o.recipe, log });
  return fitModelPreview(o.outDir, log);
}
