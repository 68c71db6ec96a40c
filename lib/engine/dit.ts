/**
 * Runs the DiT graph: pads text contexts to the model's text length, computes the timestep sinusoid and
 * the RoPE tables (float64 → float32, cached per patch grid), batches the conditional and unconditional
 * passes of classifier-free guidance into one call, and for image-to-video appends the conditioning
 * channels and CLIP features (reference §1.3, §6.1 step 6: both CFG branches share the image conditioning).
 */
import path from "node:path";
import * as ort from "onnxruntime-node";
import type { Manifest } from "../../models/manifest.ts";
import { ropeTables, timestepSinusoid } from "../../models/wan/rope.ts";
import type { WanDiTConfig } from "../../models/wan/dit.ts";
import { openSession, type ResolvedRuntime } from "./runtime.ts";

export type LatentShape = { channels: number; frames: number; height: number; width: number };

export type DiTCall = {
  /** One latent per batch element, [16, F, H, W] each. */
  latents: Float32Array[];
  shape: LatentShape;
  /** The scheduler's integer timestep. */
  timestep: number;
  /** Text contexts per batch element, [rows, text_dim] unpadded (rows ≤ text length). */
  contexts: { data: Float32Array; rows: number }[];
  /** Image-to-video: conditioning channels y [20, F, H, W] and CLIP features [tokens, image_dim] (257 × 1280 for ViT-H/14), shared by the batch. */
  imageCondition?: { y: Float32Array; clip: Float32Array };
};

/** The inputs that stay the same from step to step of one generation: padded text contexts and CLIP features. */
type BatchConditions = { sources: unknown[]; context: ort.Tensor; clip?: ort.Tensor };

export class DiTRunner {
  private readonly ropeCache = new Map<string, { cos: ort.Tensor; sin: ort.Tensor }>();
  /** The last call's conditions, reused while the same context and CLIP arrays come back (every denoising step). */
  private conditions: BatchConditions | undefined;

  constructor(
    private readonly session: ort.InferenceSession,
    readonly config: WanDiTConfig,
  ) {}

  static async load(modelDir: string, manifest: Manifest, runtime: ResolvedRuntime): Promise<DiTRunner> {
    const entry = manifest.components.transformer;
    if (!entry) throw new Error(`${modelDir}: the model has no transformer`);
    const session = await openSession(path.join(modelDir, entry.file), runtime);
    return new DiTRunner(session, entry.config);
  }

  /** Velocity predictions, one per batch element, each [outDim, F, H, W]. */
  async predict(call: DiTCall): Promise<Float32Array[]> {
    const cfg = this.config;
    const { frames: F, height: H, width: W } = call.shape;
    const [pt, ph, pw] = cfg.patchSize;
    if (F % pt || H % ph || W % pw) throw new Error(`latent ${F}×${H}×${W} is not divisible by the patch size ${cfg.patchSize}`);
    const B = call.latents.length;
    if (call.contexts.length !== B) throw new Error("one text context per latent is required");
    const perLatent = call.shape.channels * F * H * W;
    const isI2V = cfg.modelType === "i2v";
    if (isI2V !== Boolean(call.imageCondition)) {
      throw new Error(isI2V ? "this image-to-video model needs an image condition" : "this model takes no image condition");
    }
    const inPer = cfg.inDim * F * H * W;
    const x = new Float32Array(B * inPer);
    for (let b = 0; b < B; b++) {
      if (call.latents[b].length !== perLatent) throw new Error(`latent ${b} has ${call.latents[b].length} values, expected ${perLatent}`);
      x.set(call.latents[b], b * inPer);
      if (call.imageCondition) x.set(call.imageCondition.y, b * inPer + perLatent);
    }
    const sinusoid = timestepSinusoid(call.timestep, cfg.freqDim);
    const tSin = new Float32Array(B * cfg.freqDim);
    for (let b = 0; b < B; b++) tSin.set(sinusoid, b * cfg.freqDim);
    const conditions = this.batchConditions(call);
    const rope = this.rope(F / pt, H / ph, W / pw);
    const feeds: Record<string, ort.Tensor> = {
      x: new ort.Tensor("float32", x, [B, cfg.inDim, F, H, W]),
      t_sinusoid: new ort.Tensor("float32", tSin, [B, cfg.freqDim]),
      context: conditions.context,
      rope_cos: rope.cos,
      rope_sin: rope.sin,
    };
    if (conditions.clip) feeds.clip_fea = conditions.clip;
    const result = await this.session.run(feeds);
    const out = result.out.data as Float32Array;
    const outPer = cfg.outDim * F * H * W;
    return Array.from({ length: B }, (_, b) => out.slice(b * outPer, (b + 1) * outPer));
  }

  /**
   * The text contexts zero-padded to the text length (§1.3 item 6) and the CLIP features, one per batch
   * element. Built once per generation: the arrays are the same objects at every step, so they are compared
   * by identity (callers never change a context in place).
   */
  private batchConditions(call: DiTCall): BatchConditions {
    const cfg = this.config;
    const sources = [...call.contexts.flatMap((c) => [c.data, c.rows]), call.imageCondition?.clip];
    const last = this.conditions;
    if (last && last.sources.length === sources.length && last.sources.every((v, k) => v === sources[k])) return last;
    const B = call.contexts.length;
    const context = new Float32Array(B * cfg.textLen * cfg.textDim);
    call.contexts.forEach((c, b) => {
      if (c.rows > cfg.textLen) throw new Error(`text context has ${c.rows} rows, more than the text length ${cfg.textLen}`);
      context.set(c.data.subarray(0, c.rows * cfg.textDim), b * cfg.textLen * cfg.textDim);
    });
    let clip: ort.Tensor | undefined;
    if (call.imageCondition) {
      const one = call.imageCondition.clip;
      const data = new Float32Array(B * one.length);
      for (let b = 0; b < B; b++) data.set(one, b * one.length);
      clip = new ort.Tensor("float32", data, [B, one.length / cfg.imageDim!, cfg.imageDim!]);
    }
    this.conditions = { sources, context: new ort.Tensor("float32", context, [B, cfg.textLen, cfg.textDim]), clip };
    return this.conditions;
  }

  private rope(f: number, h: number, w: number): { cos: ort.Tensor; sin: ort.Tensor } {
    const key = `${f}x${h}x${w}`;
    let entry = this.ropeCache.get(key);
    if (!entry) {
      const half = this.config.dim / this.config.numHeads / 2;
      const { cos, sin } = ropeTables(f, h, w, 2 * half);
      entry = { cos: new ort.Tensor("float32", cos, [f * h * w, half]), sin: new ort.Tensor("float32", sin, [f * h * w, half]) };
      this.ropeCache.clear(); // one grid per generation; keep memory flat across sizes
      this.ropeCache.set(key, entry);
    }
    return entry;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
