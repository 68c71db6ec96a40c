/**
 * One number for "how far along is this job", 0…1, from the engine's phase and its step within the
 * phase. The phases take very different shares of a run (denoising dominates; decoding is the only other
 * long part), so each gets a fixed slice and the bar moves steadily instead of jumping at phase changes.
 */
import type { GenerationPhase } from "../schemas/job-vocabulary.ts";

const PHASE_SLICES: Record<GenerationPhase, [number, number]> = {
  load: [0, 0.05],
  text: [0.05, 0.08],
  input: [0.08, 0.15],
  denoise: [0.15, 0.9],
  decode: [0.9, 1],
};

export function overallProgress(status: string, phase: string | null, step: number, total: number): number {
  if (status === "succeeded") return 1;
  const slice = phase ? PHASE_SLICES[phase as GenerationPhase] : undefined;
  if (!slice) return 0;
  const within = total > 0 ? Math.min(1, Math.max(0, step / total)) : 0;
  return slice[0] + (slice[1] - slice[0]) * within;
}
