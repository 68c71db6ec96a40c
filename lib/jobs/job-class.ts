/**
 * A job's capability class (lib/queue/routing.ts): its model, its kind, and the memory tier of its
 * estimated peak, which is the 8 GB table's figure (lib/engine/memory-budget.ts, gpuMemoryBudget) for the
 * model's own DiT configuration and precision at the job's size and frame count. Guidance above 1 batches
 * the conditional and unconditional passes (lib/engine/denoise.ts), doubling the DiT's activations.
 * The creating API and reconciliation both derive a job's class here, so a re-queued job lands in the
 * same queue it was first put on.
 */
import type { Manifest } from "../../models/manifest.ts";
import { gpuMemoryBudget } from "../engine/memory-budget.ts";
import { memoryTier, type JobClass } from "../queue/routing.ts";
import type { JobKind } from "../schemas/job-vocabulary.ts";

export type ClassInput = { width: number; height: number; frames: number; guidance: number };

const peaks = new Map<string, number>();

/** The estimated peak in bytes (memoised: the estimate builds the DiT graph against recorded weights). */
export function estimatedPeakBytes(manifest: Manifest, p: ClassInput): number {
  const transformer = manifest.components.transformer;
  const batch = p.guidance > 1 ? 2 : 1;
  const precision = transformer?.precision ?? "fp16";
  const key = JSON.stringify([transformer?.config ?? null, precision, p.width, p.height, p.frames, batch]);
  let peak = peaks.get(key);
  if (peak === undefined) {
    peak = gpuMemoryBudget({ width: p.width, height: p.height, frames: p.frames, precision, batch, dit: transformer?.config }).peakBytes;
    peaks.set(key, peak);
  }
  return peak;
}

export function jobClassOf(model: { name: string; manifest: Manifest }, kind: JobKind, p: ClassInput): JobClass {
  return { model: model.name, kind, memoryGiB: memoryTier(estimatedPeakBytes(model.manifest, p)) };
}
