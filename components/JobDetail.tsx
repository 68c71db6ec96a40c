"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useState } from "react";
import { api } from "@/lib/client/api";
import { useEventSource } from "@/lib/client/use-event-source";
import { isActive, type JobView } from "@/lib/ui/api-types";
import { jobTitle } from "@/lib/ui/format";
import { applyEvent, isStudioEvent, snapshotJob } from "@/lib/ui/job-state";
import { batchHref, CONTINUE_FORM_ID, downloadName, reuseHref } from "@/lib/ui/links";
import { ConfirmDialog } from "./ConfirmDialog";
import { JobProgress } from "./JobProgress";
import { JobSettings } from "./JobSettings";
import { JobTimings } from "./JobTimings";
import { StatusBadge } from "./StatusBadge";
import { VideoPlayer } from "./VideoPlayer";
import { WebhookDeliveries } from "./WebhookDeliveries";
import { BackIcon } from "./Icons";
import { ChainPanel } from "./ChainPanel";
import { ContinueForm } from "./ContinueForm";

/** `reuse`: a continuation of this job whose settings fill the Continue form, opened ("Reuse settings" on that part). */
type Props = { initial: JobView; fps: number | null; reuse?: JobView | null };

const POLL_MS = 2000;

/**
 * One job, live: the phase, step and ETA with the latest preview while it runs (its own event stream,
 * with polling while the stream is down), the player when it is done, the error when it failed, every
 * setting and the seed used, timings per phase, and the actions cancel, retry, delete, reuse and download.
 * The tab title carries the progress so it can be watched from another tab.
 */
export function JobDetail({ initial, fps, reuse = null }: Props) {
  const router = useRouter();
  const [job, setJob] = useState(initial);
  const [busy, setBusy] = useState<null | "cancel" | "retry" | "delete">(null);
  const [error, setError] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [continuing, setContinuing] = useState(reuse !== null);
  // The reused part's settings fill the form once; closed and opened again, it is a plain Continue.
  const [reusing, setReusing] = useState(reuse);
  const [outputSize, setOutputSize] = useState<{ width: number; height: number } | null>(null);
  const active = isActive(job.status);

  const stream = useEventSource(active ? `/api/jobs/${encodeURIComponent(job.id)}/events` : null, (name, data) => {
    if (name === "snapshot") {
      const snap = snapshotJob(data);
      if (snap) setJob(snap);
      return;
    }
    if (isStudioEvent(data)) {
      if (data.type === "deleted") router.push("/gallery");
      else setJob((prev) => applyEvent(prev, data));
    }
  });

  // While the stream is down, poll so the page never freezes on a stale state.
  const refresh = useCallback(async () => {
    try {
      setJob(await api.getJob(job.id));
    } catch {
      // keep the last known state; the next poll or the stream catches up
    }
  }, [job.id]);
  useEffect(() => {
    if (!active || stream === "open") return;
    const t = setInterval(() => void refresh(), POLL_MS);
    return () => clearInterval(t);
  }, [active, stream, refresh]);

  // The "succeeded" event carries the video, not the chain's joined file: read the job once more.
  const chainPending = job.status === "succeeded" && job.chain !== null && job.chain.part > 1 && !job.chain.videoUrl;
  useEffect(() => {
    if (chainPending) void refresh();
  }, [chainPending, refresh]);

  useEffect(() => {
    document.title = `${jobTitle(job)} · Wan Studio`;
  }, [job]);

  // While it waits: why no live worker can run it, if none can (GET /api/queue, re-read as workers come and go).
  const [waitingFor, setWaitingFor] = useState<string | null>(null);
  const queued = job.status === "queued";
  useEffect(() => {
    if (!queued) {
      setWaitingFor(null);
      return;
    }
    const read = () =>
      api
        .queue()
        .then((q) => setWaitingFor(q.jobs.find((j) => j.id === job.id)?.waitingFor ?? null))
        .catch(() => undefined);
    void read();
    const t = setInterval(() => void read(), POLL_MS);
    return () => clearInterval(t);
  }, [queued, job.id]);

  const act = async (what: "cancel" | "retry" | "delete") => {
    setBusy(what);
    setError(null);
    try {
      if (what === "cancel") setJob(await api.cancelJob(job.id));
      if (what === "retry") {
        const next = await api.retryJob(job.id);
        router.push(`/jobs/${next.id}`);
      }
      if (what === "delete") {
        await api.deleteJob(job.id);
        router.push("/gallery");
      }
    } catch (e) {
      setError((e as Error).message);
      if (what === "delete") setConfirmDelete(false);
    } finally {
      setBusy(null);
    }
  };

  const reuseLink = reuseHref(job);
  const hasStage = (job.status === "succeeded" && job.videoUrl) || job.previewUrl || active;
  return (
    <div className="job-page" data-status={job.status}>
      <Link href="/gallery" className="back-link">
        <BackIcon size={16} /> Gallery
      </Link>
      <header className="card job-header">
        <div className="job-header-text">
          <div className="job-head">
            <StatusBadge status={job.status} />
            {job.retryOfId && (
              <Link href={`/jobs/${job.retryOfId}`} className="muted small">
                retry of an earlier job
              </Link>
            )}
            {job.batchId && (
              <Link href={batchHref(job.batchId)} className="muted small" data-testid="job-batch-link">
                video {(job.batchIndex ?? 0) + 1} of a batch
              </Link>
            )}
            {job.resumedFromStep !== null && (
              <span className="muted small" data-testid="resumed-from-step">
                resumed at step {job.resumedFromStep} after a worker crash
              </span>
            )}
          </div>
          <h1 className="job-prompt">{job.prompt}</h1>
        </div>
        <div className="job-buttons">
          {active && (
            <button type="button" className="button button-danger" onClick={() => void act("cancel")} disabled={busy !== null}>
              {busy === "cancel" ? "Canceling…" : "Cancel"}
            </button>
          )}
          {job.status === "succeeded" && job.videoUrl && (
            <a className="button button-primary" href={job.videoUrl} download={downloadName(job)}>
              Download MP4
            </a>
          )}
          {job.status === "succeeded" && job.videoUrl && (
            <button
              type="button"
              className="button"
              onClick={() => {
                setContinuing((c) => !c);
                setReusing(null);
              }}
              aria-expanded={continuing}
              aria-controls={CONTINUE_FORM_ID}
              disabled={busy !== null}
            >
              Continue
            </button>
          )}
          {!active && (
            <button type="button" className="button" onClick={() => void act("retry")} disabled={busy !== null}>
              {busy === "retry" ? "Queuing…" : "Retry"}
            </button>
          )}
          {reuseLink && (
            <Link className="button" href={reuseLink}>
              Reuse settings
            </Link>
          )}
          <button type="button" className="button button-quiet-danger" onClick={() => setConfirmDelete(true)} disabled={busy !== null}>
            Delete
          </button>
        </div>
        {error && <p className="form-error job-header-error">{error}</p>}
      </header>

      <div className="job-columns">
        <div className="job-stage">
          {hasStage && (
            <div className="stage card">
              {job.status === "succeeded" && job.videoUrl ? (
                <VideoPlayer src={job.videoUrl} poster={job.posterUrl} onSize={setOutputSize} />
              ) : (
                <div className="stage-placeholder">
                  {job.previewUrl ? (
                    <>
                      {/* eslint-disable-next-line @next/next/no-img-element -- the live latent preview, replaced every few steps */}
                      <img src={job.previewUrl} alt={`Preview at step ${job.step}`} className="stage-preview" data-testid="job-preview" />
                      <span className="stage-caption">{active ? "Live preview" : "Last preview"}</span>
                    </>
                  ) : (
                    <div className="stage-empty">
                      <span className="spinner" aria-hidden="true" />
                      <p className="muted">{job.status === "queued" ? "Waiting for a worker…" : "Starting…"}</p>
                      {queued && waitingFor && (
                        <p className="queue-waiting-for" role="status" data-testid="job-waiting-for">
                          No worker can run this yet: {waitingFor}
                        </p>
                      )}
                    </div>
                  )}
                </div>
              )}
            </div>
          )}
          {continuing && job.status === "succeeded" && (
            <div id={CONTINUE_FORM_ID}>
              <ContinueForm
                job={job}
                reuse={reusing}
                onClose={() => {
                  setContinuing(false);
                  setReusing(null);
                }}
              />
            </div>
          )}
          {job.chain && <ChainPanel job={{ ...job, chain: job.chain }} />}
          {active && (
            <div className="card">
              <JobProgress job={job} />
              {stream !== "open" && <p className="hint progress-note">Live updates reconnecting; checking every {POLL_MS / 1000} s meanwhile.</p>}
            </div>
          )}
          {job.status === "failed" && (
            <div className="card callout callout-danger" role="alert">
              <h2 className="callout-title">The generation failed</h2>
              <p data-testid="job-error">{job.error ?? "No error message was recorded."}</p>
              <p className="hint">Retry runs it again with the same settings{job.params.seed === undefined ? " (and a new random seed)" : ""}.</p>
            </div>
          )}
          {job.status === "canceled" && (
            <div className="card callout" role="status">
              <h2 className="callout-title">Canceled</h2>
              <p>This job was stopped before it finished. Retry queues it again.</p>
            </div>
          )}
        </div>
        <div className="job-side">
          <JobSettings job={job} fps={fps} outputSize={outputSize} />
          <JobTimings job={job} />
          <WebhookDeliveries job={job} />
        </div>
      </div>

      <ConfirmDialog
        open={confirmDelete}
        title="Delete this job?"
        confirmLabel="Delete"
        danger
        busy={busy === "delete"}
        onConfirm={() => void act("delete")}
        onCancel={() => setConfirmDelete(false)}
      >
        <p>
          The video, its poster and its record are removed for good.
          {active ? " It is still in the queue and will be canceled first." : ""}
        </p>
      </ConfirmDialog>
    </div>
  );
}
