"use client";
import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import type { JobView } from "@/lib/ui/api-types";
import { durationLabel, percent, promptExcerpt, relativeTime } from "@/lib/ui/format";
import { progressOf } from "@/lib/ui/job-state";
import { downloadName, jobHref, reuseHref } from "@/lib/ui/links";
import { chainLabel } from "@/lib/ui/chain";
import { jobOrigin, ORIGIN_CHIPS } from "@/lib/ui/job-origin";
import { StatusBadge } from "./StatusBadge";

type Props = {
  job: JobView;
  fps?: number;
  onDelete: (job: JobView) => void;
};

/** "832×480" once an image has loaded, else null. */
function loadedSize(img: HTMLImageElement | null): string | null {
  return img && img.complete && img.naturalWidth > 0 ? `${img.naturalWidth}×${img.naturalHeight}` : null;
}

/**
 * One video in the gallery: its poster, which turns into the playing video on hover (mouse) or with the
 * play button (touch), its status, prompt and key settings, and the actions open, download, reuse
 * settings and delete.
 */
export function JobCard({ job, fps = 16, onDelete }: Props) {
  const [playing, setPlaying] = useState(false);
  const [posterSize, setPosterSize] = useState<string | null>(null);
  const stillRef = useRef<HTMLImageElement>(null);
  const p = job.params;
  const frames = typeof p.frames === "number" ? p.frames : null;
  // Image and video to video keep the input's shape; their width×height is only a pixel budget, so
  // their size is read from the poster, which is the video's first frame at full size.
  const size =
    job.kind === "t2v" && typeof p.width === "number" && typeof p.height === "number" ? `${p.width}×${p.height}` : posterSize;
  const canPlay = job.status === "succeeded" && job.videoUrl;
  const still = job.posterUrl ?? job.previewUrl ?? job.inputThumbnailUrl;
  const title = promptExcerpt(job.prompt, 140) || "(no prompt)";
  const reuseLink = reuseHref(job);
  const isPoster = still !== null && still === job.posterUrl;
  // A poster loaded before hydration fired its load event before React listened: read it once mounted.
  useEffect(() => {
    if (isPoster) setPosterSize(loadedSize(stillRef.current));
  }, [isPoster]);

  const start = () => {
    if (canPlay) setPlaying(true);
  };
  const stop = () => setPlaying(false);

  return (
    <article className="job-card" data-job-id={job.id} data-status={job.status} aria-labelledby={`job-${job.id}-title`}>
      <div
        className="job-media"
        onPointerEnter={(e) => e.pointerType === "mouse" && start()}
        onPointerLeave={(e) => e.pointerType === "mouse" && stop()}
      >
        {playing && canPlay ? (
          <video src={job.videoUrl!} poster={job.posterUrl ?? undefined} autoPlay muted loop playsInline className="job-media-fill" aria-label="Video preview" />
        ) : still ? (
          // eslint-disable-next-line @next/next/no-img-element -- small API-served poster, lazy in a long grid
          <img
            src={still}
            alt=""
            loading="lazy"
            className="job-media-fill"
            ref={stillRef}
            onLoad={(e) => isPoster && setPosterSize(loadedSize(e.currentTarget))}
          />
        ) : (
          <div className="job-media-empty" aria-hidden="true">
            <span>{job.status === "failed" ? "!" : job.status === "canceled" ? "—" : "…"}</span>
          </div>
        )}
        {/* The whole picture opens the job too; out of the tab order (the title link is the same place), but named. */}
        <Link href={jobHref(job.id)} className="job-media-link" tabIndex={-1} aria-label={`Open “${promptExcerpt(job.prompt, 60) || "this job"}”`} />
        <div className="job-media-top">
          <StatusBadge status={job.status} />
          <span className="chip" data-testid="origin-chip">
            {ORIGIN_CHIPS[jobOrigin(job)]}
          </span>
        </div>
        {job.chain && (
          // The chain's badge opens the part it names, at its chain panel (links to every neighbour).
          <Link href={`${jobHref(job.id)}#chain`} className="chip chain-chip" data-testid="chain-badge" title="A chain of continued clips: open its parts">
            {chainLabel(job.chain)}
          </Link>
        )}
        {canPlay && (
          <button
            type="button"
            className="play-toggle"
            onClick={() => (playing ? stop() : start())}
            aria-label={playing ? "Stop preview" : "Play preview"}
            aria-pressed={playing}
          >
            {playing ? (
              <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
                <rect x="5" y="4" width="3.5" height="12" rx="1" fill="currentColor" />
                <rect x="11.5" y="4" width="3.5" height="12" rx="1" fill="currentColor" />
              </svg>
            ) : (
              <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
                <path d="M6 4.5v11l9-5.5z" fill="currentColor" />
              </svg>
            )}
          </button>
        )}
        {job.status === "running" && (
          <div className="job-media-progress" aria-hidden="true">
            <div style={{ width: `${percent(progressOf(job))}%` }} />
          </div>
        )}
      </div>
      <div className="job-body">
        <h3 id={`job-${job.id}-title`} className="job-title">
          <Link href={jobHref(job.id)} className="job-link">
            {title}
          </Link>
        </h3>
        <p className="job-meta" data-testid="job-meta">
          {[size, frames ? durationLabel(frames, fps).split(" · ")[1] : null, job.seed !== null ? `seed ${job.seed}` : null, relativeTime(job.createdAt)]
            .filter(Boolean)
            .join(" · ")}
        </p>
        {job.status === "failed" && job.error && <p className="job-error">{job.error}</p>}
        <div className="job-actions">
          {canPlay && (
            <a className="button button-small" href={job.videoUrl!} download={downloadName(job)}>
              Download
            </a>
          )}
          {reuseLink && (
            <Link className="button button-small" href={reuseLink} aria-label="Reuse settings" title="Fill the form with this video's settings">
              Reuse
            </Link>
          )}
          <button
            type="button"
            className="icon-button icon-button-small button-quiet-danger"
            onClick={() => onDelete(job)}
            aria-label={`Delete “${promptExcerpt(job.prompt, 40)}”`}
            title="Delete"
          >
            <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
              <path
                d="M4 6h12M8 6V4.5h4V6m-6 0l.7 9.5h6.6L14 6"
                fill="none"
                stroke="currentColor"
                strokeWidth="1.7"
                strokeLinecap="round"
                strokeLinejoin="round"
              />
            </svg>
          </button>
        </div>
      </div>
    </article>
  );
}
