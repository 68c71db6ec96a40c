/**
 * The engine's entry point for the worker: one generation from a job's parameters to an MP4 and a poster in
 * `ctx.outputDir`. The types are the contract between the queue worker (lib/jobs/processor.ts) and the
 * engine. A runner keeps the model it last used loaded, so a worker loads its model once; a job for another
 * model swaps it (one model in memory at a time).
 */
import path from "node:path";
import { storedParamsSchema } from "../schemas/generation.ts";
import { loadModel, type LoadedModel } from "./model.ts";
import { WanPipeline, type CheckpointHooks, type GenerationPhase, type GenerationProgress, type GenerationResult, type VideoSink } from "./pipeline.ts";
import type { ResolvedRuntime } from "./runtime.ts";

export type { CheckpointHooks, GenerationPhase, GenerationProgress, GenerationResult };

export type GenerationJob = {
  id: string;
  kind: "t2v" | "i2v" | "v2v";
  /** The job row's parameters as stored (JSON-parsed); validated here with storedParamsSchema. */
  params: unknown;
  /** Model folder name under MODELS_DIR. */
  model: string;
  /** The negative prompt in effect (the model's default when the user gave none). */
  negativePrompt?: string;
  /** The uploaded input for i2v (image) and v2v (video): an absolute path. */
  input?: { kind: "image" | "video"; file: string };
};

export type GenerationContext = {
  /** Where the decoded frames go (the worker passes lib/video/encoder.ts `mp4FileSink` of the job folder). */
  sink: VideoSink;
  /** Aborted when the job is canceled: the run rejects with an error named "CanceledError". */
  signal: AbortSignal;
  onProgress(p: GenerationProgress): void;
  onPreview(webp: Uint8Array, step: number): void;
  /** The seed in use, as soon as it is known (drawn at random when the request had none). */
  onSeed(seed: number): void;
  /** Denoising checkpoints: where they go, and the one an earlier attempt left (pipeline.ts CheckpointHooks). */
  checkpoints?: CheckpointHooks;
};

export type RunGeneration = (job: GenerationJob, ctx: GenerationContext) => Promise<GenerationResult>;

export type GenerationRunner = { run: RunGeneration; loaded(): string | null; release(): Promise<void> };

/** A runner over the models in `modelsDir`, on the resolved execution providers. */
export function createGenerationRunner(opts: {
  modelsDir: string;
  runtime: ResolvedRuntime;
  textEncoderOnCpu?: boolean;
  log?: (line: string) => void;
}): GenerationRunner {
  const log = opts.log ?? (() => {});
  let current: { name: string; model: Promise<LoadedModel> } | undefined;

  const modelFor = async (name: string, ctx: GenerationContext): Promise<LoadedModel> => {
    if (current?.name !== name) {
      const previous = current;
      const dir = path.join(opts.modelsDir, name);
      ctx.onProgress({ phase: "load", step: 0, total: 1, elapsedS: 0, etaS: null });
      current = { name, model: (async () => {
        if (previous) await (await previous.model.catch(() => undefined))?.release();
        const started = performance.now();
        const model = await loadModel(dir, opts.runtime, { textEncoderOnCpu: opts.textEncoderOnCpu });
        log(`model ${name} loaded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        return model;
      })() };
      current.model.catch(() => (current = undefined));
    }
    return current.model;
  };

  return {
    async run(job, ctx) {
      const params = storedParamsSchema.parse(job.params);
      if (job.kind !== "t2v" && !job.input) throw new Error(`a ${job.kind} job needs its input ${job.kind === "i2v" ? "image" : "video"}`);
      const model = await modelFor(job.model, ctx);
      const result = await new WanPipeline(model).generate(
        {
          ...params,
          negativePrompt: job.negativePrompt ?? params.negativePrompt,
          kind: job.kind,
          input: job.input?.file,
        },
        ctx.sink,
        { signal: ctx.signal, onProgress: ctx.onProgress, onPreview: ctx.onPreview, onSeed: ctx.onSeed, checkpoints: ctx.checkpoints },
      );
      return { ...result, videoFile: path.basename(result.videoFile), posterFile: path.basename(result.posterFile) };
    },
    loaded: () => current?.name ?? null,
    async release() {
      await (await current?.model.catch(() => undefined))?.release();
      current = undefined;
    },
  };
}
