/**
 * The Wan 2.1 causal 3-D VAE (official `WanVAE_`) as streaming ONNX graphs. Official wan/modules/vae.py, _video_vae (configuration
 * and stage tables), docs/model-notes.md#building-blocks (building blocks), official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode (feature cache and the streaming recipe); docs/model-notes.md#latent-normalisation-and-the-frame-rule
 * (normalisation). Module paths are the official checkpoint names (`decoder.upsamples.4.residual.2`);
 * Diffusers checkpoints are renamed on load (vae-checkpoint.ts). The architecture as data — configuration,
 * stage tables, cache slots, parameter shapes — is vae-layout.ts; this file builds the graphs from it.
 *
 * The official code runs the encoder on frame 0 and then on chunks of 4 frames, and the decoder on one latent
 * frame at a time, carrying a feature cache between calls (official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode). Here the cache is explicit: every cached
 * conv is a slot with `cache_in.<i>` inputs (all graphs but the first) and a `cache_out.<i>` output (all
 * graphs), numbered in the official `feat_idx` order of `vaeCacheSlots`. Two equivalences make one first
 * graph per side enough: a 1-frame cache c equals the 2-frame cache [0, c], and the sentinel 'Rep' equals a
 * zero cache (docs/model-notes.md#feature-cache).
 *
 * Per-frame split (memory). Chunking matters only at the temporal resamplers: every other layer is a causal
 * conv with a cache or a per-frame op, and for those "chunked processing equals one causal pass" (official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode). So
 * the high-resolution layers — in the encoder everything before the first downsample3d's `time_conv`, in the
 * decoder everything after the last upsample3d's `time_conv` — run ONE frame per call instead of four, in a
 * per-frame graph whose slots (`perFrame` in `vaeCacheSlots`: encoder 0–8, decoder 19–31 for Wan 2.1) carry
 * their state from frame to frame. The step graph keeps the low-resolution rest and the other slots:
 *
 *   encoder first  video [1,3,1,H,W] in [-1,1]              → latent [1,z,1,H/8,W/8] normalised, all slots
 *   encoder frame  video [1,3,1,H,W], per-frame slots        → features [1,192,H/4,W/4], per-frame slots
 *   encoder step   features [4,192,H/4,W/4], other slots     → latent [1,z,1,H/8,W/8], other slots
 *   decoder first  latent [1,z,1,h,w] normalised             → video [1,3,1,8h,8w] clamped, all slots
 *   decoder step   latent [1,z,1,h,w], other slots           → features [4,384,2h,2w], other slots
 *   decoder frame  features [1,384,2h,2w], per-frame slots   → video [1,3,1,8h,8w] clamped, per-frame slots
 *
 * (Channels for Wan 2.1, `vaeSplitFeatures`.) The cut lies inside a resampler on both sides — after the
 * encoder's spatial downsampling conv, before the decoder's nearest ×2 + conv — so the 4-frame tensors stay at
 * the lower resolution. `features` are frames-first [T, C, H', W'] in every variant, so the engine passes
 * frame k between the graphs as a view, without copying. The first graphs still run the whole network: their
 * single frame already is one frame per call, and with an empty cache they skip the taps that see only
 * zeros, which the per-frame graph fed a zero cache would compute; the price is a second copy of the
 * per-frame part's weights in memory (about 32 MB).
 *
 * Slot tensors. A per-frame slot's state is the last two input frames of its conv, passed as two single-frame
 * inputs `cache_in.<i>.0` (older) and `cache_in.<i>.1` (newer); the graph returns only the frame it consumed
 * now as `cache_out.<i>`, which becomes the next call's `.1` while `.1` becomes `.0` — so the engine rotates
 * three frame buffers per slot and never copies a frame. A first graph emits a per-frame slot as that single
 * frame too (the one before it is zero). Every other slot is one tensor `cache_in.<i>` → `cache_out.<i>` of
 * `frames` frames (the first graphs zero-pre-pad to 2 frames; the upsample3d slots are zeros; the encoder's
 * downsample3d slots hold 1 frame). Cache tensors are [1, C, F, H', W'] with the Conv 3-D variant and
 * [F, C, H', W'] (frames first) with the 2-D variants — the internal layout of each (vae-ops.ts); graphs built
 * with the same variant always agree.
 *
 * `perFrame: false` builds the unsplit form instead — first graph plus a step graph through the whole network
 * (4 frames at full resolution, every slot one tensor): the graph set of model folders converted before the
 * split, which the engine still runs, and the reference the tests compare the split against.
 *
 * Debug builds add `encoder_out` / `mean_raw` (encoder first/step) and `video_unclamped` (decoder first,
 * frame, unsplit step) outputs, which the goldens record per chunk.
 */
import type { Dim } from "../graph/tensor.ts";
import type { GraphBuilder } from "../graph/builder.ts";
import { writeOutputsDirectly } from "../graph/direct-outputs.ts";
import { multiHeadAttention, type Params } from "../nn.ts";
import { TimeSeq, VideoOps, type Act, type VaeConvVariant } from "./vae-ops.ts";
import {
  CACHE_T,
  decoderDims,
  decoderLayers,
  decoderSplit,
  encoderLayers,
  encoderSplit,
  VAE_CHUNK_FRAMES,
  vaeCacheSlots,
  vaeSpatialScale,
  vaeSplitFeatures,
  validateVaeConfig,
  type VaeCacheSlot,
  type VaeLayer,
  type WanVaeConfig,
} from "./vae-layout.ts";

export type VaeGraphOptions = {
  /** Implementation of the 3-tap temporal convs (vae-ops.ts); all are exact. */
  conv?: VaeConvVariant;
  /** Run the full-resolution layers one frame per call in separate per-frame graphs (default true; see above). */
  perFrame?: boolean;
  /** Also output the per-chunk intermediates the goldens record. */
  debug?: boolean;
};

/**
 * The fastest variant on CPU (ORT runs 2-D convs in its blocked NCHWc kernels, 3-D convs through im2col +
 * GEMM); every variant passes the parity tests. Figures: bench/NOTES.md "VAE temporal convolution variant".
 */
export const DEFAULT_VAE_CONV: VaeConvVariant = "stack2d";

// --- the explicit feature cache ------------------------------------------------------------------------------

/** Which graph is being built: a first graph (no cache inputs), a step graph, or a per-frame graph. */
type Mode = "first" | "step" | "frame";

/**
 * The layers a graph computes: the whole network (first graphs; unsplit step graphs), the chunked part
 * (split step graphs) or the per-frame part (per-frame graphs) — module doc.
 */
type Part = "whole" | "chunk" | "frame";

/**
 * Hands out the cache slots in order while a graph is built, checking each against `vaeCacheSlots`: outside
 * a first graph a slot is a `cache_in.<i>` input (or `.0`/`.1` for a per-frame slot); in every graph it ends
 * as a `cache_out.<i>` output.
 */
class CacheSlots {
  private next = 0;
  private readonly expected: VaeCacheSlot[];

  constructor(
    private readonly g: GraphBuilder,
    private readonly ops: VideoOps,
    all: VaeCacheSlot[],
    private readonly mode: Mode,
    part: Part,
    /** Whether per-frame slots travel as single frames (the split graph set). */
    private readonly split: boolean,
    /** Symbolic names of the graph input's height/width, which the slot scales multiply. */
    private readonly base: { h: string; w: string },
  ) {
    this.expected = part === "whole" ? all : all.filter((s) => s.perFrame === (part === "frame"));
  }

  take(module: string, channels: number, frames: number): { index: number; cache: Act[] | null; single: boolean } {
    const slot = this.expected[this.next];
    if (!slot || slot.module !== module || slot.channels !== channels || slot.frames !== frames) {
      throw new Error(
        `VAE cache slot ${this.next}: built ${module} [${channels} ch, ${frames} frames], expected ${
          slot ? `${slot.module} [${slot.channels} ch, ${slot.frames} frames]` : "no more slots"
        }`,
      );
    }
    this.next++;
    const single = this.single(slot);
    if (this.mode === "first") return { index: slot.index, cache: null, single };
    if (!single) {
      const x = this.g.input(`cache_in.${slot.index}`, "float32", this.dims(slot, frames));
      return { index: slot.index, cache: [{ x, c: channels, t: frames }], single };
    }
    // Oldest first: `.0` is frame t−2, `.1` frame t−1 of the conv's input.
    const cache = Array.from({ length: frames }, (_, k) => ({
      x: this.g.input(`cache_in.${slot.index}.${k}`, "float32", this.dims(slot, 1)),
      c: channels,
      t: 1,
    }));
    return { index: slot.index, cache, single };
  }

  emit(index: number, v: Act): void {
    const slot = this.expected.find((s) => s.index === index)!;
    const frames = this.single(slot) ? 1 : slot.frames;
    if (v.t !== frames) throw new Error(`VAE cache slot ${index}: emitting ${v.t} frames, expected ${frames}`);
    this.g.output(v.x, `cache_out.${index}`, this.dims(slot, frames));
  }

  finish(): void {
    if (this.next !== this.expected.length) {
      throw new Error(`VAE graph used ${this.next} cache slots, expected ${this.expected.length}`);
    }
  }

  private single(slot: VaeCacheSlot): boolean {
    return this.split && slot.perFrame;
  }

  private dims(slot: VaeCacheSlot, frames: number): Dim[] {
    const h = scaledDim(this.base.h, slot.scale);
    const w = scaledDim(this.base.w, slot.scale);
    return this.ops.layout === "ncthw" ? [1, slot.channels, frames, h, w] : [frames, slot.channels, h, w];
  }
}

function scaledDim(name: string, scale: number): string {
  if (scale === 1) return name;
  return scale > 1 ? `${name}*${scale}` : `${name}/${1 / scale}`;
}

/** What the blocks share while one graph is built. */
type Ctx = { g: GraphBuilder; ops: VideoOps; mode: Mode; part: Part; slots: CacheSlots };

// --- building blocks (docs/model-notes.md#building-blocks) ------------------------------------------------------------------------------------

/**
 * CausalConv3d with a cache slot: the conv sees concat(cache or 2 zero frames, x) with no temporal padding,
 * and the slot then keeps the last 2 frames of that input — which is the official rule in every case
 * (x[-2:] when x has ≥ 2 frames, [previous last frame, x] or [0, x] when it has one, official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode). A per-frame slot
 * emits only x (one frame): the engine already holds the frame before it.
 */
function causalConv(m: Ctx, p: Params, x: Act, cout: number, kernel: [number, number, number]): Act {
  const slot = m.slots.take(p.path, x.c, CACHE_T);
  const seq = new TimeSeq(m.ops, slot.cache, CACHE_T, x);
  m.slots.emit(slot.index, slot.single ? x : seq.last(CACHE_T));
  return m.ops.temporalConv(p, seq, { cout, kernel });
}

/** residual: RMS_norm, SiLU, conv 3×3×3, RMS_norm, SiLU, (dropout), conv 3×3×3; plus the 1×1×1 shortcut when in ≠ out. */
function residualBlock(m: Ctx, p: Params, x: Act, inDim: number, outDim: number): Act {
  const h = inDim !== outDim ? m.ops.pointConv(p.sub("shortcut"), x, outDim) : x;
  const r = p.sub("residual");
  let y = m.ops.silu(m.ops.rmsNorm(r.sub(0), x, false));
  y = causalConv(m, r.sub(2), y, outDim, [3, 3, 3]);
  y = m.ops.silu(m.ops.rmsNorm(r.sub(3), y, false));
  y = causalConv(m, r.sub(6), y, outDim, [3, 3, 3]);
  return m.ops.add(y, h);
}

/**
 * AttentionBlock (middle only): per frame, 2-D RMS_norm, 1×1 qkv conv, one head over the h·w positions with
 * scale 1/√C, 1×1 projection, residual. com.microsoft.MultiHeadAttention runs it tiled on CPU, so no
 * [hw, hw] score matrix is stored (it would be 6,240² floats = 156 MB per frame at 480p).
 */
function attentionBlock(m: Ctx, p: Params, x: Act): Act {
  const C = x.c;
  const n = m.ops.rmsNorm(p.sub("norm"), x, true);
  const tokens = m.ops.toTokens(n); // [T, hw, C]
  // A 1×1 conv on [C, hw] is a matmul with the weight viewed [3C, C] and transposed.
  const linear = (q: Params, cout: number, t: typeof tokens) =>
    t.matmul(q.linearWeight("weight", C, cout, "float32", [cout, C, 1, 1])).add(q.tensor("bias", [cout]));
  const [qh, kh, vh] = linear(p.sub("to_qkv"), 3 * C, tokens).split([C, C, C], 2);
  const attended = multiHeadAttention(qh, kh, vh, 1, 1 / Math.sqrt(C));
  const y = m.ops.fromTokens(linear(p.sub("proj"), C, attended), x);
  return m.ops.add(y, x);
}

/** Middle: Res, Attention, Res at the latent resolution. */
function middle(m: Ctx, p: Params, x: Act): Act {
  x = m.g.scope("0", () => residualBlock(m, p.sub(0), x, x.c, x.c));
  x = m.g.scope("1", () => attentionBlock(m, p.sub(1), x));
  return m.g.scope("2", () => residualBlock(m, p.sub(2), x, x.c, x.c));
}

/** Head: RMS_norm, SiLU, causal conv 3×3×3. */
function head(m: Ctx, p: Params, x: Act, cout: number): Act {
  const y = m.ops.silu(m.ops.rmsNorm(p.sub(0), x, false));
  return causalConv(m, p.sub(2), y, cout, [3, 3, 3]);
}

/** Downsamplers' spatial half (official wan/modules/vae.py, Resample.forward): zero-pad right and bottom by 1, then a stride-2 3×3 conv per frame. */
function spatialDownsample(m: Ctx, p: Params, x: Act, dim: number): Act {
  return m.ops.frameConv(p.sub("resample").sub(1), x, { cout: dim, stride: 2, pads: [0, 0, 1, 1] });
}

/**
 * downsample3d's temporal half (official wan/modules/vae.py, Resample.forward; official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode): `time_conv` (3×1×1, stride 2) over [last cached frame, x] halves
 * time, except on the first chunk, whose single frame is only cached.
 */
function temporalDownsample(m: Ctx, p: Params, xd: Act, dim: number): Act {
  const slot = m.slots.take(p.sub("time_conv").path, dim, 1);
  m.slots.emit(slot.index, m.ops.sliceTime(xd, xd.t - 1, xd.t));
  if (!slot.cache) return xd;
  return m.ops.temporalConv(p.sub("time_conv"), new TimeSeq(m.ops, slot.cache, 1, xd), {
    cout: dim,
    kernel: [3, 1, 1],
    tStride: 2,
  });
}

/**
 * upsample3d's temporal half (official wan/modules/vae.py, Resample.forward; official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode): the causal `time_conv` (C → 2C, channel halves interleaved in
 * time) doubles time — skipped on the first latent, whose slot becomes 'Rep' ≡ zeros.
 */
function temporalUpsample(m: Ctx, p: Params, x: Act, dim: number): Act {
  if (m.mode === "first") {
    const slot = m.slots.take(p.sub("time_conv").path, dim, CACHE_T);
    m.slots.emit(slot.index, m.ops.zerosLike(x, CACHE_T));
    return x;
  }
  return m.ops.interleaveChannelHalvesInTime(causalConv(m, p.sub("time_conv"), x, 2 * dim, [3, 1, 1]));
}

/** Upsamplers' spatial half (official wan/modules/vae.py, Resample.forward): nearest ×2 and a 3×3 conv C → C/2, per frame. */
function spatialUpsample(m: Ctx, p: Params, x: Act, dim: number): Act {
  const up = m.ops.upsampleNearest2x(x);
  return m.ops.frameConv(p.sub("resample").sub(1), up, { cout: dim / 2, stride: 1, pads: [1, 1, 1, 1] });
}

/** Resample (official wan/modules/vae.py, Resample.forward): a downsampler's spatial then (downsample3d) temporal half; an upsampler's temporal (upsample3d) then spatial half. */
function resample(m: Ctx, p: Params, x: Act, kind: "down2d" | "down3d" | "up2d" | "up3d", dim: number): Act {
  if (kind === "down2d" || kind === "down3d") {
    const xd = spatialDownsample(m, p, x, dim);
    return kind === "down3d" ? temporalDownsample(m, p, xd, dim) : xd;
  }
  return spatialUpsample(m, p, kind === "up3d" ? temporalUpsample(m, p, x, dim) : x, dim);
}

function layer(m: Ctx, p: Params, l: VaeLayer, x: Act): Act {
  return l.kind === "res" ? residualBlock(m, p, x, l.inDim, l.outDim) : resample(m, p, x, l.kind, l.dim);
}

/**
 * Encoder3d (official wan/modules/vae.py, Encoder3d): conv1, downsamples, middle, head → 2·z channels. The per-frame part ends
 * inside the first downsample3d, after its spatial conv: only its `time_conv` mixes frames.
 */
function encoder(m: Ctx, p: Params, cfg: WanVaeConfig, x: Act): Act {
  const layers = encoderLayers(cfg);
  const split = encoderSplit(layers);
  const at = layers[split] as { index: number; dim: number };
  const down = (l: { index: number }, fn: (q: Params) => Act) =>
    m.g.scope(`downsamples.${l.index}`, () => fn(p.sub("downsamples").sub(l.index)));
  if (m.part !== "chunk") {
    x = m.g.scope("conv1", () => causalConv(m, p.sub("conv1"), x, cfg.baseDim, [3, 3, 3]));
    for (const l of layers.slice(0, split)) x = down(l, (q) => layer(m, q, l, x));
    x = down(at, (q) => spatialDownsample(m, q, x, at.dim));
    if (m.part === "frame") return x;
  }
  x = down(at, (q) => temporalDownsample(m, q, x, at.dim));
  for (const l of layers.slice(split + 1)) x = down(l, (q) => layer(m, q, l, x));
  x = m.g.scope("middle", () => middle(m, p.sub("middle"), x));
  return m.g.scope("head", () => head(m, p.sub("head"), x, 2 * cfg.zDim));
}

/**
 * Decoder3d (official wan/modules/vae.py, Decoder3d): conv1, middle, upsamples, head → 3 channels. The per-frame part starts
 * inside the last upsample3d, after its `time_conv`: its spatial half (nearest ×2 + conv) is per frame, and
 * running it there keeps the step graph's largest tensors at half the resolution.
 */
function decoder(m: Ctx, p: Params, cfg: WanVaeConfig, x: Act): Act {
  const dims = decoderDims(cfg);
  const layers = decoderLayers(cfg);
  const split = decoderSplit(layers);
  const at = layers[split] as { index: number; dim: number };
  const up = (l: { index: number }, fn: (q: Params) => Act) =>
    m.g.scope(`upsamples.${l.index}`, () => fn(p.sub("upsamples").sub(l.index)));
  if (m.part !== "frame") {
    x = m.g.scope("conv1", () => causalConv(m, p.sub("conv1"), x, dims[0], [3, 3, 3]));
    x = m.g.scope("middle", () => middle(m, p.sub("middle"), x));
    for (const l of layers.slice(0, split)) x = up(l, (q) => layer(m, q, l, x));
    x = up(at, (q) => temporalUpsample(m, q, x, at.dim));
    if (m.part === "chunk") return x;
  }
  x = up(at, (q) => spatialUpsample(m, q, x, at.dim));
  for (const l of layers.slice(split + 1)) x = up(l, (q) => layer(m, q, l, x));
  return m.g.scope("head", () => head(m, p.sub("head"), x, 3));
}

// --- the graphs (official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode) ------------------------------------------------------------------------------------

function context(g: GraphBuilder, cfg: WanVaeConfig, side: "encoder" | "decoder", mode: Mode, opts: VaeGraphOptions): Ctx {
  validateVaeConfig(cfg);
  const split = opts.perFrame ?? true;
  if (mode === "frame" && !split) throw new Error("per-frame VAE graphs exist only in the split graph set (perFrame: true)");
  const part: Part = mode === "first" ? "whole" : mode === "frame" ? "frame" : split ? "chunk" : "whole";
  const ops = new VideoOps(g, opts.conv ?? DEFAULT_VAE_CONV);
  const slots = new CacheSlots(g, ops, vaeCacheSlots(cfg, side), mode, part, split, { h: "height", w: "width" });
  return { g, ops, mode, part, slots };
}

/** Frames a graph takes (encoder) or yields (decoder) per call: 4 for a step graph, else 1. */
function framesPerCall(mode: Mode): number {
  return mode === "step" ? VAE_CHUNK_FRAMES : 1;
}

/** `features` dims: frames-first, spatial sizes relative to the graph's height/width. */
function featureDims(frames: number, f: { channels: number; scale: number }): Dim[] {
  return [frames, f.channels, scaledDim("height", f.scale), scaledDim("width", f.scale)];
}

function buildEncoder(g: GraphBuilder, p: Params, cfg: WanVaeConfig, mode: Mode, opts: VaeGraphOptions): void {
  const m = context(g, cfg, "encoder", mode, opts);
  const frames = framesPerCall(mode);
  const s = vaeSpatialScale(cfg);
  const f = vaeSplitFeatures(cfg, "encoder");
  const x =
    m.part === "chunk"
      ? m.ops.fromFrames(g.input("features", "float32", featureDims(frames, f)), f.channels, frames)
      : m.ops.fromNCTHW(g.input("video", "float32", [1, 3, frames, "height", "width"]), 3, frames);
  const out = g.scope("encoder", () => encoder(m, p.sub("encoder"), cfg, x));
  m.slots.finish();
  if (m.part === "frame") {
    g.output(m.ops.toFrames(out), "features", featureDims(1, f));
    return;
  }
  if (out.t !== 1) throw new Error(`encoder ${mode} graph yields ${out.t} latent frames, expected 1`);
  // The 1×1×1 quant conv (`conv1`) is per frame, so applying it per chunk equals applying it after concatenation.
  const moments = g.scope("conv1", () => m.ops.pointConv(p.sub("conv1"), out, 2 * cfg.zDim));
  const mu = m.ops.sliceChannels(moments, 0, cfg.zDim);
  // See docs/model-notes.md#latent-normalisation-and-the-frame-rule: z = (μ − mean)/std, computed as the official code does: (μ − mean) · (1/std) with 1/std in float32.
  const invStd = cfg.latentsStd.map((s) => Math.fround(1 / Math.fround(s)));
  const z = mu.x.sub(m.ops.channelConstant(cfg.latentsMean)).mul(m.ops.channelConstant(invStd));
  const latentDims: Dim[] = [1, cfg.zDim, 1, `height/${s}`, `width/${s}`];
  g.output(m.ops.toNCTHW({ ...mu, x: z }), "latent", latentDims);
  if (opts.debug) {
    g.output(m.ops.toNCTHW(out), "encoder_out", [1, 2 * cfg.zDim, 1, `height/${s}`, `width/${s}`]);
    g.output(m.ops.toNCTHW(mu), "mean_raw", latentDims);
  }
}

function buildDecoder(g: GraphBuilder, p: Params, cfg: WanVaeConfig, mode: Mode, opts: VaeGraphOptions): void {
  const m = context(g, cfg, "decoder", mode, opts);
  const frames = framesPerCall(mode);
  const s = vaeSpatialScale(cfg);
  const f = vaeSplitFeatures(cfg, "decoder");
  let x: Act;
  if (m.part === "frame") {
    x = m.ops.fromFrames(g.input("features", "float32", featureDims(1, f)), f.channels, 1);
  } else {
    const latent = g.input("latent", "float32", [1, cfg.zDim, 1, "height", "width"]);
    const z = m.ops.fromNCTHW(latent, cfg.zDim, 1);
    // See docs/model-notes.md#latent-normalisation-and-the-frame-rule: μ = z·std + mean, computed as the official code does: z / (1/std) + mean with 1/std in float32.
    const invStd = cfg.latentsStd.map((s) => Math.fround(1 / Math.fround(s)));
    const mu: Act = { ...z, x: z.x.div(m.ops.channelConstant(invStd)).add(m.ops.channelConstant(cfg.latentsMean)) };
    x = g.scope("conv2", () => m.ops.pointConv(p.sub("conv2"), mu, cfg.zDim));
  }
  const out = g.scope("decoder", () => decoder(m, p.sub("decoder"), cfg, x));
  m.slots.finish();
  if (out.t !== frames) throw new Error(`decoder ${mode} graph yields ${out.t} frames, expected ${frames}`);
  if (m.part === "chunk") {
    g.output(m.ops.toFrames(out), "features", featureDims(frames, f));
    return;
  }
  const videoDims: Dim[] = [1, 3, frames, `height*${s}`, `width*${s}`];
  const unclamped = m.ops.toNCTHW(out);
  g.output(unclamped.clip(-1, 1), "video", videoDims);
  if (opts.debug) g.output(unclamped, "video_unclamped", videoDims);
}

/**
 * Every graph ends with its outputs written by the nodes that compute them (graph/direct-outputs.ts): else
 * each cache slot's value would stay allocated until the end of the run.
 */
function build(fn: typeof buildEncoder, mode: Mode) {
  return (g: GraphBuilder, p: Params, cfg: WanVaeConfig, opts: VaeGraphOptions = {}): void => {
    fn(g, p, cfg, mode, opts);
    writeOutputsDirectly(g);
  };
}

/** Encoder graph for frame 0 alone: `video` [1,3,1,H,W] → normalised `latent` + `cache_out.*` (all slots). */
export const buildVaeEncoderFirst = build(buildEncoder, "first");

/** Encoder per-frame graph: `video` [1,3,1,H,W] + per-frame slots → `features` [1,C,H/4,W/4] + per-frame slots. */
export const buildVaeEncoderFrame = build(buildEncoder, "frame");

/**
 * Encoder graph for each later chunk of 4 frames: `features` [4,C,H/4,W/4] (4 per-frame graph outputs) + the
 * other slots → `latent` + those slots; unsplit, `video` [1,3,4,H,W] + every slot.
 */
export const buildVaeEncoderStep = build(buildEncoder, "step");

/** Decoder graph for latent frame 0: normalised `latent` [1,z,1,h,w] → `video` [1,3,1,8h,8w] clamped + `cache_out.*` (all slots). */
export const buildVaeDecoderFirst = build(buildDecoder, "first");

/**
 * Decoder graph for each later latent frame: `latent` + the chunked part's slots → `features` [4,C,4h,4w] for
 * four per-frame graph calls; unsplit, every slot → `video` [1,3,4,8h,8w] clamped.
 */
export const buildVaeDecoderStep = build(buildDecoder, "step");

/** Decoder per-frame graph: `features` [1,C,4h,4w] + per-frame slots → `video` [1,3,1,8h,8w] clamped + per-frame slots. */
export const buildVaeDecoderFrame = build(buildDecoder, "frame");
