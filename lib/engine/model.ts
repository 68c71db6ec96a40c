/**
 * A converted model folder loaded for generation: one ONNX Runtime session per graph (DiT, VAE encoder and
 * decoder graphs, text encoder), the tokenizer, and what the pipeline needs from the manifest. A worker loads
 * its model once and keeps it.
 */
import path from "node:path";
import type * as ort from "onnxruntime-node";
import { readManifest, type Manifest } from "../../models/manifest.ts";
import type { PreviewProjection } from "../video/preview.ts";
import { DiTRunner } from "./dit.ts";
import { PromptEncoder } from "./prompt-encoder.ts";
import { openSession, type ResolvedRuntime } from "./runtime.ts";
import { loadTokenizer } from "./text/tokenizer.ts";
import { createVaeSessions, releaseVaeSessions, type VaeDecoderSessions, type VaeEncoderSessions } from "./vae.ts";

export type LoadedModel = {
  name: string;
  dir: string;
  manifest: Manifest;
  dit: DiTRunner;
  /** The VAE decoder graphs, loaded with the model. */
  vae: VaeDecoderSessions;
  /** The VAE encoder graphs, opened on first use (only image- and video-conditioned jobs encode). */
  vaeEncoder(): Promise<VaeEncoderSessions>;
  /** The CLIP image encoder of image-to-video models, opened on first use. */
  imageEncoder(): Promise<ort.InferenceSession>;
  prompts: PromptEncoder;
  zDim: number;
  /** Pixels per latent cell. */
  vaeScale: number;
  fps: number;
  preview: PreviewProjection | null;
  executionProviders: string[];
  release(): Promise<void>;
};

export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelLoadError";
  }
}

export type LoadOptions = {
  /** Run the text encoder on the CPU even when the rest uses a GPU (the default; see TEXT_ENCODER_DEVICE). */
  textEncoderOnCpu?: boolean;
};

export async function loadModel(dir: string, runtime: ResolvedRuntime, opts: LoadOptions = {}): Promise<LoadedModel> {
  const manifest = await readManifest(dir);
  const { transformer, vae, textEncoder } = manifest.components;
  const missing = [!transformer && "transformer", !vae && "VAE", !textEncoder && "text encoder"].filter(Boolean);
  if (missing.length) throw new ModelLoadError(`${dir}: the model lacks a ${missing.join(", ")} (convert it into this folder)`);
  if (!textEncoder!.tokenizer) {
    throw new ModelLoadError(`${dir}: no tokenizer was converted with the text encoder (pass --tokenizer <folder with tokenizer.json>)`);
  }
  const dit = await DiTRunner.load(dir, manifest, runtime);
  const vaeSessions = await createVaeSessions(dir, vae!.files, runtime, "decoder");
  let encoder: Promise<VaeEncoderSessions> | undefined;
  let clip: Promise<ort.InferenceSession> | undefined;
  const textRuntime = (opts.textEncoderOnCpu ?? true) ? { ...runtime, providers: ["cpu" as const] } : runtime;
  const textSession = await openSession(path.join(dir, textEncoder!.file), textRuntime);
  const tokenizer = await loadTokenizer(path.join(dir, textEncoder!.tokenizer));
  const t5 = textEncoder!.config as { numBuckets?: number; maxDistance?: number };
  const prompts = new PromptEncoder(manifest.name, textSession, tokenizer, manifest.textLen, {
    numBuckets: t5.numBuckets ?? 32,
    maxDistance: t5.maxDistance ?? 128,
  });
  return {
    name: manifest.name,
    dir,
    manifest,
    dit,
    vae: vaeSessions,
    vaeEncoder() {
      encoder ??= createVaeSessions(dir, vae!.files, runtime, "encoder");
      return encoder;
    },
    imageEncoder() {
      const entry = manifest.components.imageEncoder;
      if (!entry) return Promise.reject(new ModelLoadError(`${dir}: the model has no image encoder (convert the CLIP file into this folder)`));
      clip ??= openSession(path.join(dir, entry.file), runtime);
      return clip;
    },
    prompts,
    zDim: vae!.zDim,
    vaeScale: vae!.scaleSpatial,
    fps: manifest.defaults.fps,
    preview: manifest.preview,
    executionProviders: runtime.providers,
    async release() {
      await dit.release();
      await releaseVaeSessions(vaeSessions);
      if (encoder) await releaseVaeSessions(await encoder);
      if (clip) await (await clip).release();
      await textSession.release();
    },
  };
}
