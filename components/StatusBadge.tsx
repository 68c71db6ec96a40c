import type { JobStatus } from "@/lib/ui/api-types";

const LABELS: Record<JobStatus, string> = {
  queued: "Queued",
  running: "Running",
  succeeded: "Done",
  failed: "Failed",
  canceled: "Canceled",
};

/** A job's status as a coloured pill (the text carries the meaning; colour only reinforces it). */
export function StatusBadge({ status }: { status: JobStatus }) {
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      {status === "running" && <span className="badge-pulse" aria-hidden="true" />}
      {LABELS[status]}
    </span>
  );
}
