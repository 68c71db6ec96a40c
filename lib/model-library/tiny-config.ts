/**
 * The tiny model's sizes (tiny.ts writes and converts it): the exact Wan 2.1 architectures at toy size. Kept
 * apart from the writer so code that only needs the sizes (the device benchmark bundle) does not pull in the
 * writer's image dependencies.
 */
import type { ClipVisionConfig } from "../../models/clip.ts";
import type { UMT5Config } from "../../models/umt5.ts";
import type { WanDiTConfig } from "../../models/wan/dit.ts";
import { WAN21_VAE_CONFIG, type WanVaeConfig } from "../../models/wan/vae-layout.ts";

/** Toy sizes of every component (the fixtures' tiny sizes, with a longer text length for real prompts). */
export const TINY_DIT: WanDiTConfig = {
  modelType: "t2v",
  patchSize: [1, 2, 2],
  textLen: 64,
  inDim: 16,
  dim: 64,
  ffnDim: 128,
  freqDim: 32,
  textDim: 32,
  outDim: 16,
  numHeads: 4,
  numLayers: 2,
  eps: 1e-6,
  imageDim: null,
};

/** The fixtures' CLIP vision tower: 56 px, patch 14 (17 tokens), width 32, 4 heads, 3 layers (2 of them run). */
export const TINY_CLIP: ClipVisionConfig = {
  imageSize: 56,
  patchSize: 14,
  dim: 32,
  ffnDim: 128,
  numHeads: 4,
  numLayers: 3,
  eps: 1e-5,
  outDim: 16,
};

/**
 * The image-to-video DiT (Fun-InP layout, docs/model-notes.md#image-to-video): 16 noisy + 4 mask + 16 image-latent input channels, the image
 * projector sized to the tiny CLIP's width, and text length 512, which the official image cross-attention
 * needs (it splits the context at length − 512; fixtures README).
 */
export const TINY_DIT_I2V: WanDiTConfig = {
  ...TINY_DIT,
  modelType: "i2v",
  inDim: 36,
  textLen: 512,
  imageDim: TINY_CLIP.dim,
};

/** The real Wan 2.1 VAE (stages, temporal layout, latent statistics) at base dim 8 instead of 96. */
export const TINY_VAE: WanVaeConfig = { ...WAN21_VAE_CONFIG, baseDim: 8 };

export const TINY_T5: UMT5Config = {
  vocab: 128,
  dModel: 32,
  dKv: 8,
  numHeads: 4,
  dFf: 64,
  numLayers: 2,
  numBuckets: 32,
  maxDistance: 128,
  eps: 1e-6,
};
