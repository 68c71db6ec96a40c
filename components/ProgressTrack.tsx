/**
 * The progress bar of jobs and model installs: a determinate fill while the work reports a fraction,
 * an indeterminate one (animated by CSS) while it does not.
 */
export function ProgressTrack({ label, detail, pct, running }: { label: string; detail?: string; pct: number; running: boolean }) {
  return (
    <div
      className="progress-track"
      role="progressbar"
      aria-label={`${label}${detail ? `, ${detail}` : ""}`}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={running ? pct : undefined}
      data-indeterminate={!running || undefined}
    >
      <div className="progress-fill" style={{ width: running ? `${pct}%` : undefined }} />
    </div>
  );
}
