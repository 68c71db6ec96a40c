"use client";
import Link from "next/link";
import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "@/lib/client/api";
import { useEventSource } from "@/lib/client/use-event-source";
import { JOB_STATUSES, type JobPage, type JobView } from "@/lib/ui/api-types";
import { promptExcerpt } from "@/lib/ui/format";
import { applyEvent, isStudioEvent } from "@/lib/ui/job-state";
import { galleryItems } from "@/lib/ui/gallery-groups";
import { isJobOrigin, JOB_ORIGINS, ORIGIN_NAMES, originQuery } from "@/lib/ui/job-origin";
import { BatchGroup } from "./BatchGroup";
import { ConfirmDialog } from "./ConfirmDialog";
import { JobCard } from "./JobCard";

/** `kind`: how the jobs were made (lib/ui/job-origin.ts: continued clips apart); `batch`: only that batch's jobs (the batch links lead here). */
export type GalleryFilters = { q: string; status: string; kind: string; batch: string };

const NO_FILTERS: GalleryFilters = { q: "", status: "", kind: "", batch: "" };

type Props = {
  initial: JobPage;
  initialFilters: GalleryFilters;
  pageSize: number;
};

const STATUS_LABELS: Record<string, string> = { queued: "Queued", running: "Running", succeeded: "Done", failed: "Failed", canceled: "Canceled" };

/**
 * The job history as a grid: prompt search, status and kind filters (kept in the URL so a reload or a
 * shared link shows the same view), "Load more" over the API's cursor, live status updates, and delete
 * behind a confirmation.
 */
export function GalleryView({ initial, initialFilters, pageSize }: Props) {
  const [filters, setFilters] = useState(initialFilters);
  const [query, setQuery] = useState(initialFilters.q);
  const [jobs, setJobs] = useState<JobView[]>(initial.jobs);
  const [cursor, setCursor] = useState<string | null>(initial.nextCursor);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pendingDelete, setPendingDelete] = useState<JobView | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [announce, setAnnounce] = useState("");
  const [pendingBatchDelete, setPendingBatchDelete] = useState<{ id: string; jobs: JobView[] } | null>(null);
  const [batchBusy, setBatchBusy] = useState<string | null>(null);
  const [batchError, setBatchError] = useState<string | null>(null);
  const request = useRef(0);
  const first = useRef(true);

  const load = useCallback(
    async (f: GalleryFilters, after: string | null) => {
      const id = ++request.current;
      setLoading(true);
      setError(null);
      try {
        const page = await api.listJobs({
          q: f.q || undefined,
          status: f.status || undefined,
          ...(isJobOrigin(f.kind) ? originQuery(f.kind) : {}),
          batch: f.batch || undefined,
          cursor: after,
          limit: pageSize,
        });
        if (id !== request.current) return; // a newer filter won
        setJobs((prev) => (after ? [...prev, ...page.jobs.filter((j) => !prev.some((p) => p.id === j.id))] : page.jobs));
        setCursor(page.nextCursor);
        setAnnounce(after ? `${page.jobs.length} more loaded` : `${page.jobs.length}${page.nextCursor ? "+" : ""} videos`);
      } catch (e) {
        if (id === request.current) setError((e as Error).message);
      } finally {
        if (id === request.current) setLoading(false);
      }
    },
    [pageSize],
  );

  // Filters live in the URL; changing them reloads the first page.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const url = new URL(window.location.href);
    for (const [k, v] of Object.entries(filters)) {
      if (v) url.searchParams.set(k, v);
      else url.searchParams.delete(k);
    }
    window.history.replaceState(null, "", url);
    void load(filters, null);
  }, [filters, load]);

  // Typing searches after a short pause, not on every key.
  useEffect(() => {
    if (query === filters.q) return;
    const t = setTimeout(() => setFilters((f) => ({ ...f, q: query.trim() })), 300);
    return () => clearTimeout(t);
  }, [query, filters.q]);

  useEventSource("/api/events", (_name, data) => {
    if (!isStudioEvent(data)) return;
    if (data.type === "deleted") setJobs((prev) => prev.filter((j) => j.id !== data.jobId));
    else setJobs((prev) => prev.map((j) => applyEvent(j, data)));
  });

  const confirmDelete = async () => {
    if (!pendingDelete) return;
    setDeleting(true);
    setDeleteError(null);
    try {
      await api.deleteJob(pendingDelete.id);
      setJobs((prev) => prev.filter((j) => j.id !== pendingDelete.id));
      setAnnounce(`Deleted “${promptExcerpt(pendingDelete.prompt, 40)}”`);
      setPendingDelete(null);
    } catch (e) {
      setDeleteError((e as Error).message);
    } finally {
      setDeleting(false);
    }
  };

  const cancelAll = async (id: string) => {
    setBatchBusy(id);
    setBatchError(null);
    try {
      const batch = await api.cancelBatch(id);
      setJobs((prev) => prev.map((j) => batch.jobs.find((b) => b.id === j.id) ?? j));
      setAnnounce(`Canceled the batch's queued and running videos`);
    } catch (e) {
      setBatchError((e as Error).message);
    } finally {
      setBatchBusy(null);
    }
  };

  const confirmBatchDelete = async () => {
    if (!pendingBatchDelete) return;
    const { id } = pendingBatchDelete;
    setBatchBusy(id);
    setBatchError(null);
    try {
      await api.deleteBatch(id);
      setJobs((prev) => prev.filter((j) => j.batchId !== id));
      setAnnounce("Deleted the batch");
      setPendingBatchDelete(null);
    } catch (e) {
      setBatchError((e as Error).message);
    } finally {
      setBatchBusy(null);
    }
  };

  const askDelete = (j: JobView) => {
    setDeleteError(null);
    setPendingDelete(j);
  };

  const filtered = Boolean(filters.q || filters.status || filters.kind || filters.batch);
  return (
    <div className="gallery">
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()} aria-label="Filter videos">
        <div className="field filter-search">
          <label htmlFor="gallery-q" className="visually-hidden">
            Search prompts
          </label>
          <input id="gallery-q" type="search" placeholder="Search prompts…" value={query} onChange={(e) => setQuery(e.target.value)} autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor="gallery-status" className="visually-hidden">
            Status
          </label>
          <select id="gallery-status" value={filters.status} onChange={(e) => setFilters((f) => ({ ...f, q: query.trim(), status: e.target.value }))}>
            <option value="">Any status</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_LABELS[s]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="gallery-kind" className="visually-hidden">
            Kind
          </label>
          <select id="gallery-kind" value={filters.kind} onChange={(e) => setFilters((f) => ({ ...f, q: query.trim(), kind: e.target.value }))}>
            <option value="">Any kind</option>
            {JOB_ORIGINS.map((k) => (
              <option key={k} value={k}>
                {ORIGIN_NAMES[k]}
              </option>
            ))}
          </select>
        </div>
      </form>

      <p className="visually-hidden" aria-live="polite">
        {announce}
      </p>
      {error && <p className="form-error">{error}</p>}
      {batchError && !pendingBatchDelete && <p className="form-error">{batchError}</p>}
      {filters.batch && (
        <p className="batch-filter" data-testid="batch-filter">
          Showing one batch ·{" "}
          <button type="button" className="link-button" onClick={() => setFilters((f) => ({ ...f, batch: "" }))}>
            show all videos
          </button>
        </p>
      )}

      {jobs.length === 0 && !loading ? (
        <div className="card empty-state" data-testid="gallery-empty">
          {filtered ? (
            <>
              <h2 className="card-title">No videos match</h2>
              <p>Try other words or another filter.</p>
              <button
                type="button"
                className="button"
                onClick={() => {
                  setQuery("");
                  setFilters(NO_FILTERS);
                }}
              >
                Clear filters
              </button>
            </>
          ) : (
            <>
              <h2 className="card-title">No videos yet</h2>
              <p>Everything you generate is kept here, with its settings.</p>
              <Link href="/" className="button button-primary">
                Generate your first video
              </Link>
            </>
          )}
        </div>
      ) : (
        <div className="grid" data-testid="gallery-grid" aria-busy={loading}>
          {galleryItems(jobs).map((item) =>
            item.type === "job" ? (
              <JobCard key={item.job.id} job={item.job} onDelete={askDelete} />
            ) : (
              <BatchGroup
                key={item.id}
                id={item.id}
                jobs={item.jobs}
                alone={filters.batch === item.id}
                busy={batchBusy === item.id}
                onCancelAll={(id) => void cancelAll(id)}
                onDeleteAll={(id, members) => {
                  setBatchError(null);
                  setPendingBatchDelete({ id, jobs: members });
                }}
                onDelete={askDelete}
              />
            ),
          )}
        </div>
      )}

      {cursor && (
        <div className="load-more">
          <button type="button" className="button" onClick={() => void load(filters, cursor)} disabled={loading}>
            {loading ? "Loading…" : "Load more"}
          </button>
        </div>
      )}

      <ConfirmDialog
        open={pendingDelete !== null}
        title="Delete this video?"
        confirmLabel="Delete"
        danger
        busy={deleting}
        error={deleteError}
        onConfirm={() => void confirmDelete()}
        onCancel={() => setPendingDelete(null)}
      >
        <p>
          “{pendingDelete ? promptExcerpt(pendingDelete.prompt, 100) : ""}” and its files will be removed for good.
          {pendingDelete && (pendingDelete.status === "running" || pendingDelete.status === "queued") ? " It is still in the queue and will be canceled first." : ""}
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={pendingBatchDelete !== null}
        title="Delete this batch?"
        confirmLabel="Delete all"
        danger
        busy={pendingBatchDelete !== null && batchBusy === pendingBatchDelete.id}
        error={batchError}
        onConfirm={() => void confirmBatchDelete()}
        onCancel={() => setPendingBatchDelete(null)}
      >
        <p>
          Every video of this batch{pendingBatchDelete ? ` (${pendingBatchDelete.jobs.length} shown here)` : ""} and its files will be removed for good.
          {pendingBatchDelete?.jobs.some((j) => j.status === "running" || j.status === "queued") ? " The queued and running ones are canceled first." : ""}
        </p>
      </ConfirmDialog>
    </div>
  );
}
