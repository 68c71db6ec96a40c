/**
 * Reading Wan VAE checkpoints in either layout: tensor names (Diffusers `AutoencoderKLWan` ↔ official
 * `WanVAE_`, docs/model-notes.md#checkpoint-layouts) and the configuration (Diffusers config.json, the official constructor
 * arguments, or inferred from tensor shapes). The model definition (vae.ts) uses official names.
 */
import { WAN21_LATENTS_MEAN, WAN21_LATENTS_STD, validateVaeConfig, type WanVaeConfig } from "./vae-layout.ts";

/** Residual sub-modules: official `residual.{0,2,3,6}` / `shortcut` ↔ Diffusers names (docs/model-notes.md#checkpoint-layouts). */
const RESIDUAL_PARTS: [string, string][] = [
  ["residual.0", "norm1"],
  ["residual.2", "conv1"],
  ["residual.3", "norm2"],
  ["residual.6", "conv2"],
  ["shortcut", "conv_shortcut"],
];
const toOfficialPart = new Map(RESIDUAL_PARTS.map(([o, d]) => [d, o]));
const toDiffusersPart = new Map(RESIDUAL_PARTS);

/** Official entries per decoder stage: num_res_blocks + 1 residual blocks and one upsampler (docs/model-notes.md#checkpoint-layouts). */
const decoderStride = (numResBlocks: number) => numResBlocks + 2;

/**
 * Maps a Diffusers VAE tensor name to the official one (official names pass through unchanged).
 * Encoder block indices stay flat; decoder `up_blocks.s.resnets.r` → `upsamples.(s·(n+2) + r)` and
 * `up_blocks.s.upsamplers.0` → `upsamples.(s·(n+2) + n+1)` with n = num_res_blocks (2 in Wan 2.1).
 */
export function vaeKeyFromDiffusers(name: string, numResBlocks = 2): string {
  let m: RegExpExecArray | null;
  if ((m = /^(encoder|decoder)\.conv_in\.(.*)$/.exec(name))) return `${m[1]}.conv1.${m[2]}`;
  if ((m = /^(encoder|decoder)\.norm_out\.(.*)$/.exec(name))) return `${m[1]}.head.0.${m[2]}`;
  if ((m = /^(encoder|decoder)\.conv_out\.(.*)$/.exec(name))) return `${m[1]}.head.2.${m[2]}`;
  if ((m = /^quant_conv\.(.*)$/.exec(name))) return `conv1.${m[1]}`;
  if ((m = /^post_quant_conv\.(.*)$/.exec(name))) return `conv2.${m[1]}`;
  if ((m = /^(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(\w+)\.(.*)$/.exec(name))) {
    const part = toOfficialPart.get(m[3]);
    if (part) return `${m[1]}.middle.${2 * Number(m[2])}.${part}.${m[4]}`;
  }
  if ((m = /^(encoder|decoder)\.mid_block\.attentions\.0\.(.*)$/.exec(name))) return `${m[1]}.middle.1.${m[2]}`;
  if ((m = /^encoder\.down_blocks\.(\d+)\.(\w+)\.(.*)$/.exec(name))) {
    const part = toOfficialPart.get(m[2]);
    if (part) return `encoder.downsamples.${m[1]}.${part}.${m[3]}`;
    return `encoder.downsamples.${m[1]}.${m[2]}.${m[3]}`; // resample.1.*, time_conv.*
  }
  if ((m = /^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(\w+)\.(.*)$/.exec(name))) {
    const part = toOfficialPart.get(m[3]);
    const index = Number(m[1]) * decoderStride(numResBlocks) + Number(m[2]);
    if (part) return `decoder.upsamples.${index}.${part}.${m[4]}`;
  }
  if ((m = /^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.(.*)$/.exec(name))) {
    const index = Number(m[1]) * decoderStride(numResBlocks) + numResBlocks + 1;
    return `decoder.upsamples.${index}.${m[2]}`;
  }
  return name;
}

/** The inverse of vaeKeyFromDiffusers: official name → Diffusers name. */
export function vaeKeyToDiffusers(name: string, numResBlocks = 2): string {
  let m: RegExpExecArray | null;
  if ((m = /^(encoder|decoder)\.conv1\.(.*)$/.exec(name))) return `${m[1]}.conv_in.${m[2]}`;
  if ((m = /^(encoder|decoder)\.head\.0\.(.*)$/.exec(name))) return `${m[1]}.norm_out.${m[2]}`;
  if ((m = /^(encoder|decoder)\.head\.2\.(.*)$/.exec(name))) return `${m[1]}.conv_out.${m[2]}`;
  if ((m = /^conv1\.(.*)$/.exec(name))) return `quant_conv.${m[1]}`;
  if ((m = /^conv2\.(.*)$/.exec(name))) return `post_quant_conv.${m[1]}`;
  if ((m = /^(encoder|decoder)\.middle\.1\.(.*)$/.exec(name))) return `${m[1]}.mid_block.attentions.0.${m[2]}`;
  if ((m = /^(encoder|decoder)\.middle\.([02])\.(residual\.\d|shortcut)\.(.*)$/.exec(name))) {
    return `${m[1]}.mid_block.resnets.${Number(m[2]) / 2}.${toDiffusersPart.get(m[3]) ?? m[3]}.${m[4]}`;
  }
  if ((m = /^encoder\.downsamples\.(\d+)\.(residual\.\d|shortcut)\.(.*)$/.exec(name))) {
    return `encoder.down_blocks.${m[1]}.${toDiffusersPart.get(m[2]) ?? m[2]}.${m[3]}`;
  }
  if ((m = /^encoder\.downsamples\.(\d+)\.(.*)$/.exec(name))) return `encoder.down_blocks.${m[1]}.${m[2]}`;
  if ((m = /^decoder\.upsamples\.(\d+)\.(.*)$/.exec(name))) {
    const stride = decoderStride(numResBlocks);
    const [stage, within] = [Math.floor(Number(m[1]) / stride), Number(m[1]) % stride];
    const rest = /^(residual\.\d|shortcut)\.(.*)$/.exec(m[2]);
    if (within <= numResBlocks && rest) {
      return `decoder.up_blocks.${stage}.resnets.${within}.${toDiffusersPart.get(rest[1]) ?? rest[1]}.${rest[2]}`;
    }
    return `decoder.up_blocks.${stage}.upsamplers.0.${m[2]}`;
  }
  return name;
}

/** True when tensor names are Diffusers-style (`encoder.conv_in`, `down_blocks`, `quant_conv`, …). */
export function isDiffusersVae(names: Iterable<string>): boolean {
  for (const n of names) {
    if (/^(encoder|decoder)\.(conv_in|down_blocks|up_blocks|mid_block|norm_out|conv_out)\./.test(n)) return true;
    if (/^(post_)?quant_conv\./.test(n)) return true;
  }
  return false;
}

type Json = Record<string, unknown>;

/** Diffusers `AutoencoderKLWan` config.json. Wan 2.2 options (patching, residual VAE) are rejected. */
export function vaeConfigFromDiffusers(c: Json): WanVaeConfig {
  if (c.is_residual === true || (c.patch_size !== null && c.patch_size !== undefined)) {
    throw new Error("this VAE config is a Wan 2.2 VAE (is_residual / patch_size); only the Wan 2.1 VAE is supported");
  }
  const baseDim = num(c, "base_dim", 96);
  if (typeof c.decoder_base_dim === "number" && c.decoder_base_dim !== baseDim) {
    throw new Error(`decoder_base_dim ${c.decoder_base_dim} differs from base_dim ${baseDim}; not a Wan 2.1 VAE`);
  }
  rejectAttention(c.attn_scales);
  const cfg: WanVaeConfig = {
    baseDim,
    zDim: num(c, "z_dim", 16),
    dimMult: nums(c, "dim_mult", [1, 2, 4, 4]),
    numResBlocks: num(c, "num_res_blocks", 2),
    temporalDownsample: bools(c, "temperal_downsample", [false, true, true]),
    latentsMean: nums(c, "latents_mean", WAN21_LATENTS_MEAN),
    latentsStd: nums(c, "latents_std", WAN21_LATENTS_STD),
  };
  validateVaeConfig(cfg);
  return cfg;
}

/**
 * Official `WanVAE_` constructor arguments (`dim`, `z_dim`, `dim_mult`, …), either alone or as the
 * `WanVAE_` entry of a file that may also hold `WanVAE_wrapper` (`mean`, `std`); the statistics default to
 * the Wan 2.1 constants of docs/model-notes.md#latent-normalisation-and-the-frame-rule, which the official `WanVAE` wrapper hard-codes.
 */
export function vaeConfigFromOfficial(json: Json): WanVaeConfig {
  const c = (json.WanVAE_ as Json | undefined) ?? json;
  const wrapper = (json.WanVAE_wrapper as Json | undefined) ?? c;
  rejectAttention(c.attn_scales);
  const cfg: WanVaeConfig = {
    baseDim: num(c, "dim", 96),
    zDim: num(c, "z_dim", 16),
    dimMult: nums(c, "dim_mult", [1, 2, 4, 4]),
    numResBlocks: num(c, "num_res_blocks", 2),
    temporalDownsample: bools(c, "temperal_downsample", [false, true, true]),
    latentsMean: nums(wrapper, "mean", WAN21_LATENTS_MEAN),
    latentsStd: nums(wrapper, "std", WAN21_LATENTS_STD),
  };
  validateVaeConfig(cfg);
  return cfg;
}

/**
 * Configuration from tensor shapes alone (official names), for a single file without a config: base dim
 * from `encoder.conv1.weight` [dim, 3, 3, 3, 3], z_dim from `conv2.weight` [z, z, 1, 1, 1], the stages from
 * the encoder's residual blocks (their output channels / dim) and resamplers (time_conv ⇒ temporal).
 * Latent mean/std are the Wan 2.1 constants (docs/model-notes.md#latent-normalisation-and-the-frame-rule): checkpoints do not store them.
 */
export function vaeConfigFromShapes(shape: (name: string) => number[] | undefined, names: string[]): WanVaeConfig {
  const need = (name: string) => {
    const s = shape(name);
    if (!s) throw new Error(`cannot infer the VAE configuration: missing tensor ${name}`);
    return s;
  };
  const baseDim = need("encoder.conv1.weight")[0];
  const zDim = need("conv2.weight")[0];
  const indices = [...new Set(names.map((n) => /^encoder\.downsamples\.(\d+)\./.exec(n)?.[1]).filter((i) => i !== undefined))]
    .map(Number)
    .sort((a, b) => a - b);
  if (!indices.length) throw new Error("cannot infer the VAE configuration: no encoder.downsamples.* tensors");
  if (names.some((n) => /^encoder\.downsamples\.\d+\.norm\./.test(n))) rejectAttention([1]);
  const dimMult: number[] = [];
  const temporalDownsample: boolean[] = [];
  const resPerStage: number[] = [];
  let inStage = 0;
  for (const i of indices) {
    const path = `encoder.downsamples.${i}`;
    if (shape(`${path}.resample.1.weight`)) {
      temporalDownsample.push(names.includes(`${path}.time_conv.weight`));
      resPerStage.push(inStage);
      inStage = 0;
      continue;
    }
    const out = need(`${path}.residual.6.weight`)[0];
    if (inStage === 0) dimMult.push(out / baseDim);
    inStage++;
  }
  resPerStage.push(inStage);
  if (new Set(resPerStage).size !== 1) {
    throw new Error(`cannot infer the VAE configuration: stages have different residual block counts [${resPerStage}]`);
  }
  const cfg: WanVaeConfig = {
    baseDim,
    zDim,
    dimMult,
    numResBlocks: resPerStage[0],
    temporalDownsample,
    latentsMean: WAN21_LATENTS_MEAN,
    latentsStd: WAN21_LATENTS_STD,
  };
  if (zDim !== WAN21_LATENTS_MEAN.length) {
    throw new Error(`cannot infer the VAE configuration: z_dim ${zDim} has no default latent statistics (Wan 2.1 has 16)`);
  }
  validateVaeConfig(cfg);
  return cfg;
}

function rejectAttention(attnScales: unknown): void {
  if (Array.isArray(attnScales) && attnScales.length) {
    throw new Error("attention outside the middle blocks (attn_scales) is not used by Wan 2.1 and not supported");
  }
}

function num(c: Json, key: string, fallback: number): number {
  const v = c[key] ?? fallback;
  if (typeof v !== "number") throw new Error(`VAE config: "${key}" must be a number`);
  return v;
}

function nums(c: Json, key: string, fallback: number[]): number[] {
  const v = c[key] ?? fallback;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "number")) throw new Error(`VAE config: "${key}" must be a list of numbers`);
  return v as number[];
}

function bools(c: Json, key: string, fallback: boolean[]): boolean[] {
  const v = c[key] ?? fallback;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "boolean")) throw new Error(`VAE config: "${key}" must be a list of booleans`);
  return v as boolean[];
}
