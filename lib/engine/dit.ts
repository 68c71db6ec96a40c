/**
 * Runs the DiT graph: pads text contexts to the model's text length, computes the timestep sinusoid and
 * the RoPE tables (float64 → float32, cached per patch grid), batches the conditional and unconditional
 * passes of classifier-free guidance into one call, and for image-to-video appends the conditioning
 * channels and CLIP features (official wan/modules/model.py, WanModel.forward; official wan/image2video.py, WanI2V.generate (y): both CFG branches share the image conditioning).
 *
 * Folders converted with the stage graphs (embedding, blocks, head; models/wan/dit.ts) run those, and only
 * those, so the weights are in memory once; with a step cache the blocks run only for the passes it computes.
 * Older folders run the whole graph and cannot cache steps (`canCacheSteps`).
 */
import path from "node:path";
import * as ort from "onnxruntime-node";
import type { Manifest } from "../../models/manifest.ts";
import { ropeTables, timestepSinusoid } from "../../models/wan/rope.ts";
import type { WanDiTConfig } from "../../models/wan/dit.ts";
import { openSession, toDevice, toHost, type ResolvedRuntime } from "./runtime.ts";
import type { StepCache } from "./step-cache.ts";
import { writePaddedContext } from "./text/context.ts";

export type LatentShape = { channels: number; frames: number; height: number; width: number };

export type DiTCall = {
  /** One latent per batch element, [16, F, H, W] each. */
  latents: Float32Array[];
  shape: LatentShape;
  /** The scheduler's timestep (an integer on the official grids; rCM's are bfloat16 values of 1000·σ). */
  timestep: number;
  /** Text contexts per batch element, [rows, text_dim] unpadded (rows ≤ text length). */
  contexts: { data: Float32Array; rows: number }[];
  /** Image-to-video: conditioning channels y [20, F, H, W] and CLIP features [tokens, image_dim] (257 × 1280 for ViT-H/14), shared by the batch. */
  imageCondition?: { y: Float32Array; clip: Float32Array };
  /**
   * Step caching: batch element b is pass b of the cache (0 conditional, 1 unconditional); `step` is the
   * 0-based step of the run. Needs the stage graphs (`canCacheSteps`).
   */
  cache?: { cache: StepCache; step: number };
};

/** The stage graphs' sessions. */
export type DiTStages = { embedding: ort.InferenceSession; blocks: ort.InferenceSession; head: ort.InferenceSession };

const CPU_ONLY: ResolvedRuntime = { providers: ["cpu"], rejected: [], threads: 0 };

/** The inputs that stay the same from step to step of one generation: padded text contexts and CLIP features. */
type BatchConditions = { sources: unknown[]; context: ort.Tensor; clip?: ort.Tensor };

export class DiTRunner {
  private readonly ropeCache = new Map<string, { cos: ort.Tensor; sin: ort.Tensor }>();
  /** The last call's conditions, reused while the same context and CLIP arrays come back (every denoising step). */
  private conditions: BatchConditions | undefined;

  /**
   * Either the whole graph or the three stage graphs. With a device `runtime` (WebGPU) the text contexts, CLIP
   * features and RoPE tables are uploaded once, and the stage graphs hand their tokens on on the device.
   */
  constructor(
    private readonly graphs: ort.InferenceSession | DiTStages,
    readonly config: WanDiTConfig,
    private readonly runtime: ResolvedRuntime = CPU_ONLY,
  ) {}

  /** Opens the stage graphs when the folder has them (unless `whole`), else the whole graph. */
  static async load(modelDir: string, manifest: Manifest, runtime: ResolvedRuntime, o: { whole?: boolean } = {}): Promise<DiTRunner> {
    const entry = manifest.components.transformer;
    if (!entry) throw new Error(`${modelDir}: the model has no transformer`);
    const open = (file: string, deviceOutputs?: (name: string) => boolean) =>
      openSession(path.join(modelDir, file), runtime, { deviceOutputs });
    if (!entry.stages || o.whole) return new DiTRunner(await open(entry.file), entry.config, runtime);
    // Everything but the velocity stays on the device between the stages.
    const [embedding, blocks, head] = [
      await open(entry.stages.embedding, () => true),
      await open(entry.stages.blocks, () => true),
      await open(entry.stages.head),
    ];
    return new DiTRunner({ embedding, blocks, head }, entry.config, runtime);
  }

  /** Whether a step cache can skip the blocks: the folder has the stage graphs (converted after the split). */
  get canCacheSteps(): boolean {
    return isStages(this.graphs);
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
    const conditions = await this.batchConditions(call);
    const rope = await this.rope(F / pt, H / ph, W / pw);
    const inputs: Record<string, ort.Tensor> = {
      x: new ort.Tensor("float32", x, [B, cfg.inDim, F, H, W]),
      t_sinusoid: new ort.Tensor("float32", tSin, [B, cfg.freqDim]),
      context: conditions.context,
    };
    if (conditions.clip) inputs.clip_fea = conditions.clip;
    let out: Float32Array;
    if (!isStages(this.graphs)) {
      if (call.cache) throw new Error("step caching needs the DiT stage graphs: reconvert the model");
      const result = await this.graphs.run({ ...inputs, rope_cos: rope.cos, rope_sin: rope.sin });
      out = result.out.data as Float32Array;
    } else {
      out = await this.runStages(this.graphs, inputs, rope, [F / pt, H / ph, W / pw], call.cache);
    }
    const outPer = cfg.outDim * F * H * W;
    return Array.from({ length: B }, (_, b) => out.slice(b * outPer, (b + 1) * outPer));
  }

  /**
   * Embedding → blocks → head. With a cache, each pass (batch element) asks it whether to run the blocks; the
   * passes that do run them together, the others add their cached residual to the embedded tokens.
   */
  private async runStages(
    stages: DiTStages,
    inputs: Record<string, ort.Tensor>,
    rope: { cos: ort.Tensor; sin: ort.Tensor },
    grid: number[],
    cache: DiTCall["cache"],
  ): Promise<Float32Array> {
    let embedded = (await stages.embedding.run(inputs)) as Record<string, ort.Tensor>;
    // Step caching measures and keeps residuals on the host: bring the embedding there (device runs only).
    if (cache) embedded = Object.fromEntries(await Promise.all(Object.entries(embedded).map(async ([k, t]) => [k, await toHost(t, this.runtime)])));
    const tokens = embedded.tokens;
    const B = tokens.dims[0];
    const blockInputs = (batch: number[]): Record<string, ort.Tensor> => {
      const feeds: Record<string, ort.Tensor> = {
        tokens: pickBatch(tokens, batch),
        e0: pickBatch(embedded.e0, batch),
        context_embedded: pickBatch(embedded.context_embedded, batch),
        rope_cos: rope.cos,
        rope_sin: rope.sin,
      };
      if (embedded.image_context) feeds.image_context = pickBatch(embedded.image_context, batch);
      return feeds;
    };
    let tokensOut: ort.Tensor;
    if (!cache) {
      tokensOut = (await stages.blocks.run(blockInputs([...Array(B).keys()]))).tokens_out;
    } else {
      const per = tokens.data.length / B;
      const perBatch = (t: ort.Tensor, b: number) => {
        const n = t.data.length / B;
        return (t.data as Float32Array).subarray(b * n, (b + 1) * n);
      };
      const measured = cache.cache.measures && embedded[cache.cache.measures];
      const computed = [...Array(B).keys()].filter((b) => cache.cache.decide(b, cache.step, measured ? perBatch(measured, b) : undefined).compute);
      const out = new Float32Array(tokens.data.length);
      if (computed.length) {
        const after = (await toHost((await stages.blocks.run(blockInputs(computed))).tokens_out as ort.Tensor, this.runtime)).data as Float32Array;
        computed.forEach((b, k) => {
          const result = after.subarray(k * per, (k + 1) * per);
          cache.cache.keepResidual(b, perBatch(tokens, b), result);
          out.set(result, b * per);
        });
      }
      for (let b = 0; b < B; b++) {
        if (!computed.includes(b)) out.set(cache.cache.applyResidual(b, perBatch(tokens, b)), b * per);
      }
      tokensOut = new ort.Tensor("float32", out, tokens.dims);
    }
    const result = await stages.head.run({
      tokens: tokensOut,
      e: embedded.e,
      grid: new ort.Tensor("int64", BigInt64Array.from(grid.map(BigInt)), [3]),
    });
    // Device intermediates are freed now, not when the collector gets to them.
    for (const t of [...Object.values(embedded), tokensOut]) if (t.location === "gpu-buffer") t.dispose();
    return result.out.data as Float32Array;
  }

  /**
   * The text contexts zero-padded to the text length (official wan/modules/model.py, WanModel.forward (text_embedding of the zero-padded context)) and the CLIP features, one per batch
   * element. Built once per generation: the arrays are the same objects at every step, so they are compared
   * by identity (callers never change a context in place).
   */
  private async batchConditions(call: DiTCall): Promise<BatchConditions> {
    const cfg = this.config;
    const sources = [...call.contexts.flatMap((c) => [c.data, c.rows]), call.imageCondition?.clip];
    const last = this.conditions;
    if (last && last.sources.length === sources.length && last.sources.every((v, k) => v === sources[k])) return last;
    const B = call.contexts.length;
    const context = new Float32Array(B * cfg.textLen * cfg.textDim);
    call.contexts.forEach((c, b) => {
      writePaddedContext(context, b * cfg.textLen * cfg.textDim, c.data.subarray(0, c.rows * cfg.textDim), c.rows, cfg.textDim, cfg.textLen);
    });
    let clip: ort.Tensor | undefined;
    if (call.imageCondition) {
      const one = call.imageCondition.clip;
      const data = new Float32Array(B * one.length);
      for (let b = 0; b < B; b++) data.set(one, b * one.length);
      clip = await toDevice(new ort.Tensor("float32", data, [B, one.length / cfg.imageDim!, cfg.imageDim!]), this.runtime);
    }
    this.disposeConditions();
    const contextTensor = await toDevice(new ort.Tensor("float32", context, [B, cfg.textLen, cfg.textDim]), this.runtime);
    this.conditions = { sources, context: contextTensor, clip };
    return this.conditions;
  }

  private async rope(f: number, h: number, w: number): Promise<{ cos: ort.Tensor; sin: ort.Tensor }> {
    const key = `${f}x${h}x${w}`;
    let entry = this.ropeCache.get(key);
    if (!entry) {
      const half = this.config.dim / this.config.numHeads / 2;
      const { cos, sin } = ropeTables(f, h, w, 2 * half);
      entry = {
        cos: await toDevice(new ort.Tensor("float32", cos, [f * h * w, half]), this.runtime),
        sin: await toDevice(new ort.Tensor("float32", sin, [f * h * w, half]), this.runtime),
      };
      this.disposeRope(); // one grid per generation; keep memory flat across sizes
      this.ropeCache.set(key, entry);
    }
    return entry;
  }

  /** Frees the device copies of the last generation's conditions (host tensors are left to the collector). */
  private disposeConditions(): void {
    const last = this.conditions;
    if (last?.context.location === "gpu-buffer") last.context.dispose();
    if (last?.clip?.location === "gpu-buffer") last.clip.dispose();
    this.conditions = undefined;
  }

  private disposeRope(): void {
    for (const { cos, sin } of this.ropeCache.values()) for (const t of [cos, sin]) if (t.location === "gpu-buffer") t.dispose();
    this.ropeCache.clear();
  }

  async release(): Promise<void> {
    this.disposeConditions();
    this.disposeRope();
    const sessions = isStages(this.graphs) ? Object.values(this.graphs) : [this.graphs];
    for (const s of sessions) await s.release();
  }
}

function isStages(graphs: ort.InferenceSession | DiTStages): graphs is DiTStages {
  return "blocks" in graphs;
}

/** The batch elements `batch` of a float32 tensor (all of them: the tensor itself). */
function pickBatch(t: ort.Tensor, batch: number[]): ort.Tensor {
  const B = t.dims[0];
  if (batch.length === B && batch.every((b, i) => b === i)) return t;
  const per = t.data.length / B;
  const data = t.data as Float32Array;
  const out = new Float32Array(batch.length * per);
  batch.forEach((b, k) => out.set(data.subarray(b * per, (b + 1) * per), k * per));
  return new ort.Tensor("float32", out, [batch.length, ...t.dims.slice(1)]);
}
