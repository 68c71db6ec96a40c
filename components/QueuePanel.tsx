"use client";
import Link from "next/link";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api } from "@/lib/client/api";
import { useEventSource } from "@/lib/client/use-event-source";
import { isActive, JOB_PRIORITIES, QUEUE_EVENT, type JobPriority, type JobView, type QueueState } from "@/lib/ui/api-types";
import { promptExcerpt } from "@/lib/ui/format";
import { applyEvent, isStudioEvent, snapshotJob } from "@/lib/ui/job-state";
import { JobProgress } from "./JobProgress";
import { StatusBadge } from "./StatusBadge";

type Props = {
  /** Queued and running jobs at page load (from the server). */
  initialJobs?: JobView[];
  /** The jobs this page just created (one, or a batch's): shown at once, before their "queued" events arrive. */
  created?: JobView[] | null;
};

const FINISHED_KEPT = 4;

/**
 * The live queue: running and queued jobs with progress, ETA and cancel, kept current by the all-jobs
 * event stream (GET /api/events). Jobs that finish while the page is open stay a moment under "Just
 * finished" with a link, so a result is one tap away. On every (re)connection the list is re-read, so
 * nothing missed while offline stays stale.
 *
 * Queue control: each waiting job has a priority and up/down buttons, and the head a pause/resume
 * switch. The order shown is the queue's own (GET /api/queue, then every "queue" event), so every open
 * page shows the same order after anyone changes it. Order is kept per capability class (the jobs one
 * kind of worker takes, docs/multi-machine.md): a job moves among the jobs of its own class. A job that
 * no live worker can run says why, and the queue is re-read every few seconds while one does, so the
 * note goes when a worker that can run it joins.
 */

/** How often the queue is re-read while a job waits for a worker that can run it (workers beat every 5 s). */
const WAITING_FOR_POLL_MS = 5_000;

/** The two move buttons: which way, the arrow drawn, and the end of the line where the button does nothing. */
const MOVES = [
  { direction: "up", path: "M5 12l5-5 5 5", edge: <T,>(line: T[]) => line[0] },
  { direction: "down", path: "M5 8l5 5 5-5", edge: <T,>(line: T[]) => line.at(-1) },
] as const;
export function QueuePanel({ initialJobs = [], created }: Props) {
  const [jobs, setJobs] = useState<Map<string, JobView>>(() => new Map(initialJobs.map((j) => [j.id, j])));
  const [finished, setFinished] = useState<JobView[]>([]);
  const [busy, setBusy] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const fetching = useRef(new Set<string>());
  const [queue, setQueue] = useState<QueueState | null>(null);

  const refreshQueue = useCallback(() => {
    api
      .queue()
      .then(setQueue)
      .catch((e: Error) => setError(e.message));
  }, []);

  const upsert = useCallback((job: JobView) => {
    if (isActive(job.status)) {
      setJobs((prev) => new Map(prev).set(job.id, job));
      setFinished((prev) => prev.filter((j) => j.id !== job.id));
    } else {
      setJobs((prev) => {
        if (!prev.has(job.id)) return prev;
        const next = new Map(prev);
        next.delete(job.id);
        return next;
      });
      setFinished((prev) => [job, ...prev.filter((j) => j.id !== job.id)].slice(0, FINISHED_KEPT));
    }
  }, []);

  const fetchJob = useCallback(
    (id: string) => {
      if (fetching.current.has(id)) return;
      fetching.current.add(id);
      api
        .getJob(id)
        .then(upsert)
        .catch(() => undefined)
        .finally(() => fetching.current.delete(id));
    },
    [upsert],
  );

  const resync = useCallback(async () => {
    try {
      const [running, queued] = await Promise.all([api.listJobs({ status: "running", limit: 100 }), api.listJobs({ status: "queued", limit: 100 })]);
      const fresh = new Map([...running.jobs, ...queued.jobs].map((j) => [j.id, j]));
      setJobs((prev) => {
        // Jobs that left the queue while we were away: fetch them once to show how they ended.
        for (const id of prev.keys()) if (!fresh.has(id)) fetchJob(id);
        return fresh;
      });
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [fetchJob]);

  const stream = useEventSource("/api/events", (name, data) => {
    if (name === "open") {
      void resync();
      refreshQueue();
      return;
    }
    if (name === QUEUE_EVENT) {
      setQueue(data as QueueState);
      return;
    }
    if (!isStudioEvent(data)) return;
    const event = data;
    // A job joined or left the waiting line: its order is the queue's to say.
    if (event.type !== "progress" && event.type !== "preview") refreshQueue();
    if (event.type === "deleted") {
      setJobs((prev) => {
        const next = new Map(prev);
        next.delete(event.jobId);
        return next;
      });
      setFinished((prev) => prev.filter((j) => j.id !== event.jobId));
      return;
    }
    const known = jobs.get(event.jobId);
    const announced = event.type === "queued" ? snapshotJob(event.job) : undefined;
    if (announced) {
      upsert(announced);
      return;
    }
    if (!known) {
      // A job from another tab or client: read it whole.
      if (event.type !== "preview") fetchJob(event.jobId);
      return;
    }
    upsert(applyEvent(known, event));
  });

  useEffect(() => {
    for (const job of created ?? []) upsert(job);
  }, [created, upsert]);

  /** Runs one button's request, with the job's buttons disabled meanwhile. */
  const act = async (id: string, request: () => Promise<void>) => {
    setBusy((prev) => new Set(prev).add(id));
    try {
      await request();
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy((prev) => {
        const next = new Set(prev);
        next.delete(id);
        return next;
      });
    }
  };
  const cancel = (job: JobView) => act(job.id, async () => upsert(await api.cancelJob(job.id)));
  const move = (job: JobView, direction: "up" | "down") => act(job.id, async () => setQueue(await api.moveJob(job.id, direction)));
  const prioritise = (job: JobView, priority: JobPriority) => act(job.id, async () => setQueue(await api.setPriority(job.id, priority)));
  const togglePause = () =>
    act("queue", async () => setQueue(await (queue?.paused ? api.resumeQueue() : api.pauseQueue())));

  // Running first, then the queue in the order the workers will take it (the queue's word; oldest first
  // for a job it has not listed yet).
  const ordered = useMemo(() => {
    const place = new Map(queue?.jobs.map((j, i) => [j.id, i]) ?? []);
    const rank = (j: JobView) => place.get(j.id) ?? Number.MAX_SAFE_INTEGER;
    return [...jobs.values()].sort((a, b) =>
      a.status !== b.status ? (a.status === "running" ? -1 : 1) : rank(a) - rank(b) || a.createdAt.localeCompare(b.createdAt),
    );
  }, [jobs, queue]);
  const queuedOf = (job: JobView) => queue?.jobs.find((j) => j.id === job.id);
  const priorityOf = (job: JobView): JobPriority => queuedOf(job)?.priority ?? job.priority;
  const waiting = ordered.filter((j) => j.status === "queued");
  /** The waiting jobs of a job's class: the line its move buttons work in. */
  const lineOf = (job: JobView) => waiting.filter((j) => queuedOf(j)?.queue === queuedOf(job)?.queue);
  const anyUnroutable = queue?.jobs.some((j) => j.waitingFor !== null) ?? false;
  useEffect(() => {
    if (!anyUnroutable) return;
    const timer = setInterval(refreshQueue, WAITING_FOR_POLL_MS);
    return () => clearInterval(timer);
  }, [anyUnroutable, refreshQueue]);
  let position = 0;

  return (
    <aside className="card queue" aria-labelledby="queue-heading" data-testid="queue-panel">
      <div className="queue-head">
        <h2 id="queue-heading" className="card-title">
          Queue
          <span className="count" aria-label={`${ordered.length} active`}>
            {ordered.length}
          </span>
        </h2>
        <button
          type="button"
          className={`button button-small queue-pause${queue?.paused ? " button-primary" : ""}`}
          onClick={() => void togglePause()}
          disabled={!queue || busy.has("queue")}
          aria-pressed={queue?.paused ?? false}
          title={queue?.paused ? "Let workers take queued jobs again" : "Running jobs finish; queued jobs wait"}
        >
          {queue?.paused ? "Resume" : "Pause"}
        </button>
        <span className={`live live-${stream}`} title={stream === "open" ? "Live updates on" : "Reconnecting…"}>
          <span className="live-dot" aria-hidden="true" />
          {stream === "open" ? "Live" : stream === "connecting" ? "Connecting" : "Reconnecting"}
        </span>
      </div>
      {queue?.paused && (
        <p className="queue-paused" role="status">
          Paused: running jobs finish, queued jobs wait.
        </p>
      )}
      {error && <p className="form-error">{error}</p>}
      {ordered.length === 0 ? (
        <p className="queue-empty">Nothing queued. Generated videos show up here while they render.</p>
      ) : (
        <ol className="queue-list">
          {ordered.map((job) => {
            if (job.status === "queued") position++;
            return (
              <li key={job.id} className="queue-item" data-job-id={job.id} data-status={job.status}>
                <QueueThumb job={job} />
                <div className="queue-body">
                  <Link href={`/jobs/${job.id}`} className="queue-prompt">
                    {promptExcerpt(job.prompt, 90)}
                  </Link>
                  <JobProgress job={job} compact position={job.status === "queued" ? position : undefined} />
                  {job.status === "queued" && queuedOf(job)?.waitingFor && (
                    <p className="queue-waiting-for" role="status">
                      Waiting: {queuedOf(job)?.waitingFor} (<Link href="/workers">workers</Link>)
                    </p>
                  )}
                  {job.status === "queued" && (
                    <div className="queue-controls">
                      <select
                        className="queue-priority"
                        value={priorityOf(job)}
                        onChange={(e) => void prioritise(job, e.target.value as JobPriority)}
                        disabled={busy.has(job.id)}
                        aria-label={`Priority of “${promptExcerpt(job.prompt, 40)}”`}
                      >
                        {JOB_PRIORITIES.map((p) => (
                          <option key={p} value={p}>
                            {p}
                          </option>
                        ))}
                      </select>
                      {MOVES.map(({ direction, path, edge }) => (
                        <button
                          key={direction}
                          type="button"
                          className="icon-button icon-button-quiet"
                          onClick={() => void move(job, direction)}
                          disabled={busy.has(job.id) || edge(lineOf(job))?.id === job.id}
                          aria-label={`Move “${promptExcerpt(job.prompt, 40)}” ${direction}`}
                          title={`Move ${direction}`}
                        >
                          <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
                            <path d={path} stroke="currentColor" strokeWidth="2" fill="none" strokeLinecap="round" />
                          </svg>
                        </button>
                      ))}
                    </div>
                  )}
                </div>
                <button
                  type="button"
                  className="icon-button icon-button-quiet"
                  onClick={() => void cancel(job)}
                  disabled={busy.has(job.id)}
                  aria-label={`Cancel “${promptExcerpt(job.prompt, 40)}”`}
                  title="Cancel"
                >
                  <svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true">
                    <path d="M5 5l10 10M15 5L5 15" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
                  </svg>
                </button>
              </li>
            );
          })}
        </ol>
      )}
      {finished.length > 0 && (
        <div className="queue-finished">
          <h3 className="subhead">Just finished</h3>
          <ul className="queue-list">
            {finished.map((job) => (
              <li key={job.id} className="queue-item queue-item-done" data-job-id={job.id} data-status={job.status}>
                <QueueThumb job={job} />
                <div className="queue-body">
                  <Link href={`/jobs/${job.id}`} className="queue-prompt">
                    {promptExcerpt(job.prompt, 90)}
                  </Link>
                  <div className="queue-meta">
                    <StatusBadge status={job.status} />
                    {job.error && <span className="queue-error">{job.error}</span>}
                  </div>
                </div>
              </li>
            ))}
          </ul>
        </div>
      )}
    </aside>
  );
}

function QueueThumb({ job }: { job: JobView }) {
  const src = job.posterUrl ?? job.previewUrl ?? job.inputThumbnailUrl;
  return (
    <div className="queue-thumb" aria-hidden="true">
      {/* eslint-disable-next-line @next/next/no-img-element -- API-served, already sized thumbnails */}
      {src ? <img src={src} alt="" /> : <span className="queue-thumb-empty" />}
    </div>
  );
}
