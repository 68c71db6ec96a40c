/**
 * The Wan 2.1 causal 3-D VAE (official `WanVAE_`) as data: its configuration (official wan/modules/vae.py, _video_vae), the stage
 * tables of `encoder.downsamples` / `decoder.upsamples`, the feature-cache slots in the official `feat_idx`
 * order (official wan/modules/vae.py, Encoder3d.forward and Decoder3d.forward (feat_idx order)) with the per-frame split, and every parameter's name and shape. The graphs
 * (vae.ts), the checkpoint reader (vae-checkpoint.ts), the converter and the tiny-model generator all read
 * the architecture from here, so they cannot disagree about it.
 */
export type WanVaeConfig = {
  baseDim: number;
  zDim: number;
  dimMult: number[];
  numResBlocks: number;
  temporalDownsample: boolean[];
  latentsMean: number[];
  latentsStd: number[];
};

/** Per-channel latent statistics of Wan 2.1 (docs/model-notes.md#latent-normalisation-and-the-frame-rule; identical in WAN and Diffusers). */
export const WAN21_LATENTS_MEAN = [
  -0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508, 0.4134, -0.0715, 0.5517, -0.3632, -0.1922,
  -0.9497, 0.2503, -0.2921,
];
export const WAN21_LATENTS_STD = [
  2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743, 3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253,
  2.8251, 1.916,
];

/** `WanVAE_(dim=96, z_dim=16, dim_mult=[1,2,4,4], num_res_blocks=2, temperal_downsample=[F,T,T])` (official wan/modules/vae.py, _video_vae). */
export const WAN21_VAE_CONFIG: WanVaeConfig = {
  baseDim: 96,
  zDim: 16,
  dimMult: [1, 2, 4, 4],
  numResBlocks: 2,
  temporalDownsample: [false, true, true],
  latentsMean: WAN21_LATENTS_MEAN,
  latentsStd: WAN21_LATENTS_STD,
};

/** Frames per encoder chunk after the first frame, and per decoded latent frame after the first (official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode). */
export const VAE_CHUNK_FRAMES = 4;
/** Frames every 3-tap temporal conv keeps (official wan/modules/vae.py, CACHE_T). */
export const CACHE_T = 2;

/** Throws for configurations the official chunking does not cover (official wan/modules/vae.py, _video_vae; official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode). */
export function validateVaeConfig(cfg: WanVaeConfig): void {
  const problems: string[] = [];
  if (cfg.dimMult.length < 2) problems.push(`dim_mult needs at least 2 entries (got [${cfg.dimMult}])`);
  if (cfg.temporalDownsample.length !== cfg.dimMult.length - 1) {
    problems.push(`temperal_downsample has ${cfg.temporalDownsample.length} entries, dim_mult ${cfg.dimMult.length}`);
  }
  if (2 ** cfg.temporalDownsample.filter(Boolean).length !== VAE_CHUNK_FRAMES) {
    problems.push(`the chunked encode/decode needs exactly two temporal down/upsamplers (got [${cfg.temporalDownsample}])`);
  }
  if (cfg.latentsMean.length !== cfg.zDim || cfg.latentsStd.length !== cfg.zDim) {
    problems.push(`latents mean/std need ${cfg.zDim} entries (got ${cfg.latentsMean.length} and ${cfg.latentsStd.length})`);
  }
  if (problems.length) throw new Error(`unsupported Wan VAE configuration: ${problems.join("; ")}`);
}

/** Pixels per latent cell along height and width. */
export function vaeSpatialScale(cfg: WanVaeConfig): number {
  return 2 ** (cfg.dimMult.length - 1);
}

// --- the architecture as data: the official wan/modules/vae.py, Encoder3d and Decoder3d --------------------------------------------------------

/** One entry of `encoder.downsamples` / `decoder.upsamples` (official nn.Sequential indices). */
export type VaeLayer =
  | { kind: "res"; index: number; inDim: number; outDim: number }
  | { kind: "down2d" | "down3d" | "up2d" | "up3d"; index: number; dim: number };

/** Encoder channels per stage boundary: dim·[1, …dim_mult]. */
export function encoderDims(cfg: WanVaeConfig): number[] {
  return [1, ...cfg.dimMult].map((u) => cfg.baseDim * u);
}

/** Decoder channels: dim·[dim_mult[-1], …reversed dim_mult]. */
export function decoderDims(cfg: WanVaeConfig): number[] {
  return [cfg.dimMult[cfg.dimMult.length - 1], ...[...cfg.dimMult].reverse()].map((u) => cfg.baseDim * u);
}

/** `encoder.downsamples`: per stage num_res_blocks residual blocks, then a downsampler except after the last. */
export function encoderLayers(cfg: WanVaeConfig): VaeLayer[] {
  const dims = encoderDims(cfg);
  const layers: VaeLayer[] = [];
  for (let i = 0; i < cfg.dimMult.length; i++) {
    let inDim = dims[i];
    for (let r = 0; r < cfg.numResBlocks; r++) {
      layers.push({ kind: "res", index: layers.length, inDim, outDim: dims[i + 1] });
      inDim = dims[i + 1];
    }
    if (i !== cfg.dimMult.length - 1) {
      layers.push({ kind: cfg.temporalDownsample[i] ? "down3d" : "down2d", index: layers.length, dim: dims[i + 1] });
    }
  }
  return layers;
}

/**
 * `decoder.upsamples`: per stage num_res_blocks + 1 residual blocks, then an upsampler except after the last.
 * Every upsampler's 2-D conv halves the channels, so stages after the first start from dims[i] / 2 (official wan/modules/vae.py, _video_vae).
 */
export function decoderLayers(cfg: WanVaeConfig): VaeLayer[] {
  const dims = decoderDims(cfg);
  const temporalUpsample = [...cfg.temporalDownsample].reverse();
  const layers: VaeLayer[] = [];
  for (let i = 0; i < cfg.dimMult.length; i++) {
    let inDim = i === 0 ? dims[i] : dims[i] / 2;
    for (let r = 0; r < cfg.numResBlocks + 1; r++) {
      layers.push({ kind: "res", index: layers.length, inDim, outDim: dims[i + 1] });
      inDim = dims[i + 1];
    }
    if (i !== cfg.dimMult.length - 1) {
      layers.push({ kind: temporalUpsample[i] ? "up3d" : "up2d", index: layers.length, dim: dims[i + 1] });
    }
  }
  return layers;
}

/** Index in `encoder.downsamples` of the first downsample3d: its `time_conv` starts the chunked part. */
export function encoderSplit(layers: VaeLayer[]): number {
  const i = layers.findIndex((l) => l.kind === "down3d");
  if (i < 0) throw new Error("the VAE encoder has no temporal downsampler");
  return i;
}

/** Index in `decoder.upsamples` of the last upsample3d: the per-frame part starts after it. */
export function decoderSplit(layers: VaeLayer[]): number {
  const i = layers.findLastIndex((l) => l.kind === "up3d");
  if (i < 0) throw new Error("the VAE decoder has no temporal upsampler");
  return i;
}

/**
 * The `features` tensor between a step graph and a per-frame graph: channels, and the spatial size relative
 * to the graph input. Encoder: after the first downsample3d's spatial conv, 192 ch at H/4 for Wan 2.1;
 * decoder: after the last upsample3d's `time_conv`, before its spatial half, 384 ch at 2h.
 */
export function vaeSplitFeatures(cfg: WanVaeConfig, side: "encoder" | "decoder"): { channels: number; scale: number } {
  const layers = side === "encoder" ? encoderLayers(cfg) : decoderLayers(cfg);
  const split = side === "encoder" ? encoderSplit(layers) : decoderSplit(layers);
  const at = layers[split] as { dim: number };
  if (side === "encoder") return { channels: at.dim, scale: 2 ** -layers.slice(0, split + 1).filter((l) => l.kind !== "res").length };
  return { channels: at.dim, scale: 2 ** layers.slice(0, split).filter((l) => l.kind !== "res").length };
}

export type VaeCacheSlot = {
  index: number;
  /** The module whose input the slot caches (official name). */
  module: string;
  channels: number;
  /** Cached frames: 2, or 1 for the encoder's downsample3d slots (official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode). */
  frames: number;
  /** Spatial size relative to the graph's input: the video H×W (encoder, ≤ 1) or the latent h×w (decoder, ≥ 1). */
  scale: number;
  /**
   * In the per-frame part: encoder layers before the first downsample3d's `time_conv`, decoder layers after
   * the last upsample3d (module doc). Its state travels as single frames in the split graph set.
   */
  perFrame: boolean;
};

/**
 * The cache slots in graph order — the official `feat_idx` order (official wan/modules/vae.py, Encoder3d.forward and Decoder3d.forward (feat_idx order)): encoder 24 slots, decoder
 * 32 for the Wan 2.1 configuration, of which encoder 0–8 and decoder 19–31 are per-frame. Cache memory per
 * slot = channels · frames · (scale·H) · (scale·W) floats.
 */
export function vaeCacheSlots(cfg: WanVaeConfig, side: "encoder" | "decoder"): VaeCacheSlot[] {
  const slots: VaeCacheSlot[] = [];
  let scale = 1;
  let perFrame = side === "encoder";
  const add = (module: string, channels: number, frames = CACHE_T) =>
    slots.push({ index: slots.length, module, channels, frames, scale, perFrame });
  const res = (path: string, inDim: number, outDim: number) => {
    add(`${path}.residual.2`, inDim);
    add(`${path}.residual.6`, outDim);
  };
  const middle = (dim: number) => {
    res(`${side}.middle.0`, dim, dim);
    res(`${side}.middle.2`, dim, dim);
  };
  if (side === "encoder") {
    const dims = encoderDims(cfg);
    add("encoder.conv1", 3);
    for (const l of encoderLayers(cfg)) {
      const path = `encoder.downsamples.${l.index}`;
      if (l.kind === "res") res(path, l.inDim, l.outDim);
      else if (l.kind === "down2d" || l.kind === "down3d") {
        scale /= 2;
        if (l.kind === "down3d") {
          perFrame = false;
          add(`${path}.time_conv`, l.dim, 1);
        }
      }
    }
    middle(dims[dims.length - 1]);
    add("encoder.head.2", dims[dims.length - 1]);
  } else {
    const dims = decoderDims(cfg);
    const layers = decoderLayers(cfg);
    const split = decoderSplit(layers);
    add("decoder.conv1", cfg.zDim);
    middle(dims[0]);
    for (const l of layers) {
      const path = `decoder.upsamples.${l.index}`;
      if (l.kind === "res") res(path, l.inDim, l.outDim);
      else if (l.kind === "up3d" || l.kind === "up2d") {
        if (l.kind === "up3d") add(`${path}.time_conv`, l.dim);
        scale *= 2;
      }
      if (l.index === split) perFrame = true;
    }
    add("decoder.head.2", dims[dims.length - 1]);
  }
  return slots;
}

/**
 * Values held by all cache slots for a graph input of height × width (the video for the encoder, the latent
 * for the decoder); ×4 bytes in fp32. E.g. the decoder at a 60×104 latent (480×832): 944,286,720 (official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode).
 */
export function vaeCacheValues(cfg: WanVaeConfig, side: "encoder" | "decoder", height: number, width: number): number {
  return vaeCacheSlots(cfg, side).reduce((a, s) => a + s.channels * s.frames * height * s.scale * width * s.scale, 0);
}

/** Every parameter the model reads, official names and shapes (194 tensors, 126,892,531 values for Wan 2.1, official wan/modules/vae.py, _video_vae). */
export function vaeParameterShapes(cfg: WanVaeConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const conv = (path: string, cout: number, cin: number, k: number[]) => {
    out.set(`${path}.weight`, [cout, cin, ...k]);
    out.set(`${path}.bias`, [cout]);
  };
  const k3 = [3, 3, 3];
  const res = (path: string, inDim: number, outDim: number) => {
    out.set(`${path}.residual.0.gamma`, [inDim, 1, 1, 1]);
    conv(`${path}.residual.2`, outDim, inDim, k3);
    out.set(`${path}.residual.3.gamma`, [outDim, 1, 1, 1]);
    conv(`${path}.residual.6`, outDim, outDim, k3);
    if (inDim !== outDim) conv(`${path}.shortcut`, outDim, inDim, [1, 1, 1]);
  };
  const middle = (path: string, dim: number) => {
    res(`${path}.0`, dim, dim);
    out.set(`${path}.1.norm.gamma`, [dim, 1, 1]);
    conv(`${path}.1.to_qkv`, 3 * dim, dim, [1, 1]);
    conv(`${path}.1.proj`, dim, dim, [1, 1]);
    res(`${path}.2`, dim, dim);
  };
  const head = (path: string, dim: number, cout: number) => {
    out.set(`${path}.0.gamma`, [dim, 1, 1, 1]);
    conv(`${path}.2`, cout, dim, k3);
  };
  const ed = encoderDims(cfg);
  conv("encoder.conv1", ed[0], 3, k3);
  for (const l of encoderLayers(cfg)) {
    const path = `encoder.downsamples.${l.index}`;
    if (l.kind === "res") res(path, l.inDim, l.outDim);
    else {
      conv(`${path}.resample.1`, l.dim, l.dim, [3, 3]);
      if (l.kind === "down3d") conv(`${path}.time_conv`, l.dim, l.dim, [3, 1, 1]);
    }
  }
  middle("encoder.middle", ed[ed.length - 1]);
  head("encoder.head", ed[ed.length - 1], 2 * cfg.zDim);
  conv("conv1", 2 * cfg.zDim, 2 * cfg.zDim, [1, 1, 1]);
  conv("conv2", cfg.zDim, cfg.zDim, [1, 1, 1]);
  const dd = decoderDims(cfg);
  conv("decoder.conv1", dd[0], cfg.zDim, k3);
  middle("decoder.middle", dd[0]);
  for (const l of decoderLayers(cfg)) {
    const path = `decoder.upsamples.${l.index}`;
    if (l.kind === "res") res(path, l.inDim, l.outDim);
    else {
      if (l.kind === "up3d") conv(`${path}.time_conv`, 2 * l.dim, l.dim, [3, 1, 1]);
      conv(`${path}.resample.1`, l.dim / 2, l.dim, [3, 3]);
    }
  }
  head("decoder.head", dd[dd.length - 1], 3);
  return out;
}
