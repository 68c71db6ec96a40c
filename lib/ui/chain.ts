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
