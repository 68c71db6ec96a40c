/** How the studio names a job's place in a chain of continued clips (job page and gallery). */
import type { JobView } from "./api-types.ts";
import { downloadName } from "./links.ts";

type Chain = NonNullable<JobView["chain"]>;

/** "part 2 of 3". */
export function chainLabel(chain: Pick<Chain, "part" | "parts">): string {
  return `part ${chain.part} of ${chain.parts}`;
}

/** The joined video's file name: the part's own name with "-chain" before the extension. */
export function chainDownloadName(job: Pick<JobView, "id" | "prompt" | "seed">): string {
  return downloadName(job).replace(/\.mp4$/, "-chain.mp4");
}

/** The settings a continuation was made with that POST /api/jobs/:id/continue takes (the size is its previous part's). */
const CONTINUE_SETTINGS = ["negativePrompt", "frames", "steps", "guidance", "shift", "solver", "grid", "speed"] as const;

/**
 * "Reuse settings" on a continuation: the body that continues its previous part again as it was continued
 * then: its prompt, its own settings, its model and the seed it used, so an unedited resend makes the same part.
 */
export function continueSettingsOf(job: Pick<JobView, "prompt" | "params" | "seed" | "model">): Record<string, unknown> {
  const body: Record<string, unknown> = { prompt: job.prompt, model: job.model };
  for (const key of CONTINUE_SETTINGS) if (job.params[key] !== undefined) body[key] = job.params[key];
  if (job.seed !== null) body.seed = job.seed;
  return body;
}
