/**
 * The engine's entry point for the worker: one generation from a job's parameters to an MP4 and a
 * poster in `ctx.outputDir`. The types are the studio contract between the worker (lib/jobs/processor.ts)
 * and the engine; `runGeneration` itself is wired by the engine work.
 */

export type GenerationPhase = "load" | "text" | "denoise" | "decode";

export type GenerationProgress = {
  phase: GenerationPhase;
  step: number;
  total: number;
  elapsedS: number;
  etaS: number | null;
};

export type GenerationResult = {
  seed: number;
  /** File names (inside ctx.outputDir) of the published video and poster. */
  videoFile: string;
  posterFile: string;
  /** Seconds per phase. */
  timings: Record<string, number>;
  width: number;
  height: number;
  frames: number;
  settings: Record<string, unknown>;
};

export type GenerationJob = {
  id: string;
  kind: "t2v" | "i2v" | "v2v";
  /** The stored request parameters (lib/jobs/schemas.ts StoredParams). */
  params: Record<string, unknown>;
  /** Model folder name under MODELS_DIR. */
  model: string;
  /** The negative prompt in effect (the model's default when the user gave none). */
  negativePrompt?: string;
  /** The uploaded input for i2v (image) and v2v (video): an absolute path. */
  input?: { kind: "image" | "video"; file: string };
};

export type GenerationContext = {
  outputDir: string;
  /** Aborted when the job is canceled: the run rejects with an error named "CanceledError". */
  signal: AbortSignal;
  onProgress(p: GenerationProgress): void;
  onPreview(webp: Uint8Array, step: number): void;
  /** The seed in use, as soon as it is known (drawn at random when the request had none). */
  onSeed(seed: number): void;
};

export type RunGeneration = (job: GenerationJob, ctx: GenerationContext) => Promise<GenerationResult>;

export const runGeneration: RunGeneration = async () => {
  throw new Error("engine not wired yet");
};
