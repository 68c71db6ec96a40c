"use client";
import Link from "next/link";
import type { JobView } from "@/lib/ui/api-types";
import { jobHref } from "@/lib/ui/links";
import { chainLabel, chainDownloadName } from "@/lib/ui/chain";

type Props = { job: JobView & { chain: NonNullable<JobView["chain"]> } };

/**
 * A job's chain of continued clips: which part it is, links to the part before and the parts after, and
 * (from part 2 on, once done) the joined video of the chain up to here, to play or download.
 */
export function ChainPanel({ job }: Props) {
  const { chain } = job;
  const previousDeleted = chain.part > 1 && !job.continuesJobId;
  return (
    <section className="card chain-card" aria-labelledby="chain-heading" data-testid="chain-panel" id="chain">
      <h2 id="chain-heading" className="card-title">
        Chain · {chainLabel(chain)}
      </h2>
      {chain.videoUrl && (
        <div className="chain-player">
          <video src={chain.videoUrl} controls playsInline preload="metadata" className="player" aria-label={`The chain, parts 1–${chain.part}, as one video`} data-testid="chain-video" />
        </div>
      )}
      <nav className="chain-links" aria-label="Parts of this chain">
        {chain.part > 1 &&
          (previousDeleted ? (
            <span className="muted small">Part {chain.part - 1} was deleted (its frames stay in this part&apos;s chain video)</span>
          ) : (
            <Link className="button button-small" href={jobHref(job.continuesJobId!)} data-testid="chain-previous">
              ← Part {chain.part - 1}
            </Link>
          ))}
        {chain.nextIds.map((id, i) => (
          <Link key={id} className="button button-small" href={jobHref(id)} data-testid="chain-next">
            Part {chain.part + 1}
            {chain.nextIds.length > 1 ? ` (${i + 1})` : ""} →
          </Link>
        ))}
        {chain.videoUrl && (
          <a className="button button-small" href={chain.videoUrl} download={chainDownloadName(job)} data-testid="chain-download">
            Download parts 1–{chain.part}
          </a>
        )}
      </nav>
    </section>
  );
}
