/**
 * How a job was made, as the studio names and filters it: text, image or video to video, or continued.
 * A continuation is stored with kind "i2v" (its image is the previous part's last frame, lib/jobs/continue.ts),
 * but the user made it by pressing Continue on a clip and gave it no image: calling it "Image" would
 * misdescribe it, and reusing it on the image page would open that page without its image. This module
 * is the one place that says so; the gallery card, the job page and the gallery's kind filter use it.
 */
import { isContinuationPart, JOB_KINDS, type JobKind } from "../schemas/job-vocabulary.ts";
import type { JobView } from "./api-types.ts";

export const JOB_ORIGINS = [...JOB_KINDS, "continued"] as const;
export type JobOrigin = (typeof JOB_ORIGINS)[number];

type OriginFacts = Pick<JobView, "kind" | "chain">;

/** Part 2 on of a chain: made with Continue, whatever kind it is stored as. */
export function isContinuation(job: Pick<JobView, "chain">): boolean {
  return job.chain !== null && isContinuationPart(job.chain.part);
}

export function jobOrigin(job: OriginFacts): JobOrigin {
  return isContinuation(job) ? "continued" : job.kind;
}

/** The short chip on a gallery card (the chain badge beside it says which part). */
export const ORIGIN_CHIPS: Record<JobOrigin, string> = { t2v: "Text", i2v: "Image", v2v: "Video", continued: "Continued" };
/** The job page's "Kind" row and the gallery filter's options. */
export const ORIGIN_NAMES: Record<JobOrigin, string> = {
  t2v: "Text to video",
  i2v: "Image to video",
  v2v: "Video to video",
  continued: "Continued clip",
};

export function isJobOrigin(value: string): value is JobOrigin {
  return (JOB_ORIGINS as readonly string[]).includes(value);
}

/**
 * The GET /api/jobs filter for one origin. "Image to video" lists only clips made from an image, not
 * continuations (stored as i2v too); "Continued clip" lists every part 2 on, whatever its first part was.
 */
export function originQuery(origin: JobOrigin): { kind?: JobKind; continued: "true" | "false" } {
  return origin === "continued" ? { continued: "true" } : { kind: origin, continued: "false" };
}
