/**
 * The batch rules, shared by the API (lib/jobs/schemas.ts) and the studio form (lib/ui/generation-form.ts):
 * how many seeds per prompt (`count`), the list of prompts, and the cap on the videos one submit makes.
 */
import { z } from "zod";
import { promptField } from "./generation.ts";

/** What one batch (POST /api/batches) may make: prompts × count jobs, at most this many. */
export const BATCH_LIMITS = {
  maxJobs: 16,
} as const;

export const batchCountSchema = z
  .number({ error: "count must be a number" })
  .int("count must be an integer")
  .min(1, `count must be between 1 and ${BATCH_LIMITS.maxJobs}`)
  .max(BATCH_LIMITS.maxJobs, `count must be between 1 and ${BATCH_LIMITS.maxJobs}`);

export const batchPromptsSchema = z
  .array(promptField("each prompt"), { error: "prompts must be a list of prompts" })
  .min(1, "prompts must hold at least one prompt")
  .max(BATCH_LIMITS.maxJobs, `prompts must hold at most ${BATCH_LIMITS.maxJobs} prompts`);

/** Why `prompts` prompts × `count` seeds is too many for one batch, or null when it is not. */
export function batchSizeIssue(prompts: number, count: number): string | null {
  const size = prompts * count;
  return size > BATCH_LIMITS.maxJobs ? `a batch makes at most ${BATCH_LIMITS.maxJobs} videos; ${prompts} prompts × count ${count} is ${size}` : null;
}

/** The prompts of a "one prompt per line" text: each line trimmed, blank lines dropped. */
export function promptLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}
