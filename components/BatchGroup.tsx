"use client";
import Link from "next/link";
import { useState } from "react";
import type { JobView } from "@/lib/ui/api-types";
import { isActive } from "@/lib/ui/api-types";
import { promptExcerpt } from "@/lib/ui/format";
import { batchStatusLine, batchTitle } from "@/lib/ui/gallery-groups";
import { batchHref } from "@/lib/ui/links";
import { JobCard } from "./JobCard";

type Props = {
  id: string;
  /** Its jobs in the list, in batch order. */
  jobs: JobView[];
  /** True when the gallery shows this batch alone (no "open" link then). */
  alone: boolean;
  busy: boolean;
  onCancelAll: (id: string) => void;
  onDeleteAll: (id: string, jobs: JobView[]) => void;
  onDelete: (job: JobView) => void;
};

/**
 * One batch in the gallery: a header with what it is, how far it got, and the group's actions (cancel
 * the queued and running ones, delete them all, open the batch on its own), over its cards, which fold away.
 */
export function BatchGroup({ id, jobs, alone, busy, onCancelAll, onDeleteAll, onDelete }: Props) {
  const [open, setOpen] = useState(true);
  const title = batchTitle(jobs);
  const active = jobs.some((j) => isActive(j.status));
  const gridId = `batch-${id}-grid`;
  return (
    <section className="batch-group" data-batch-id={id} aria-labelledby={`batch-${id}-title`}>
      <header className="batch-head">
        <div className="batch-heading">
          <h2 id={`batch-${id}-title`} className="batch-title">
            {title.label}
            {title.prompt !== null && <span className="batch-prompt"> · “{promptExcerpt(title.prompt, 80)}”</span>}
          </h2>
          <p className="hint" data-testid="batch-status">
            {batchStatusLine(jobs)}
          </p>
        </div>
        <div className="batch-actions">
          <button type="button" className="button button-small" aria-expanded={open} aria-controls={gridId} onClick={() => setOpen((o) => !o)}>
            {open ? "Fold" : "Show"}
          </button>
          {!alone && (
            <Link className="button button-small" href={batchHref(id)}>
              Open
            </Link>
          )}
          {active && (
            <button type="button" className="button button-small" disabled={busy} onClick={() => onCancelAll(id)}>
              Cancel all
            </button>
          )}
          <button type="button" className="button button-small button-quiet-danger" disabled={busy} onClick={() => onDeleteAll(id, jobs)}>
            Delete all
          </button>
        </div>
      </header>
      {open && (
        <div className="grid" id={gridId}>
          {jobs.map((job) => (
            <JobCard key={job.id} job={job} onDelete={onDelete} />
          ))}
        </div>
      )}
    </section>
  );
}
