import type { InstallView } from "@/lib/ui/api-types";
import { formatBytes, formatDuration, percent } from "@/lib/ui/format";

const PHASE = { download: "Downloading", convert: "Converting" } as const;
const STATUS = { queued: "Waiting for a worker", running: "Starting", succeeded: "Installed", failed: "Failed", canceled: "Canceled" } as const;

type Props = { install: InstallView; onCancel?: () => void; busy?: boolean };

/** One install: what it installs, the phase with bytes, rate and ETA, a progress bar, and cancel while it runs. */
export function InstallProgress({ install, onCancel, busy }: Props) {
  const p = install.progress;
  const running = install.status === "running" && p !== null;
  const fraction = running && p.total > 0 ? p.done / p.total : 0;
  const pct = percent(fraction);
  const label = running ? PHASE[p.phase] : STATUS[install.status];
  const detail = running
    ? [`${formatBytes(p.done)} / ${formatBytes(p.total)}`, p.rateBps ? `${formatBytes(p.rateBps)}/s` : null, p.etaS !== null ? `ETA ${formatDuration(p.etaS)}` : null]
        .filter(Boolean)
        .join(" · ")
    : "";
  const origin = "repo" in install.source ? `${install.source.repo}@${install.source.revision}` : install.source.path;
  const active = install.status === "queued" || install.status === "running";
  return (
    <li className="install-item" data-testid="install" data-status={install.status}>
      <div className="install-head">
        <div className="install-name">
          <strong>{install.name}</strong> <span className="muted small">{origin} · {install.precision}</span>
        </div>
        {active && onCancel && (
          <button type="button" className="button button-small button-quiet-danger" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
        )}
      </div>
      <div className="progress progress-compact" data-testid="install-progress">
        <div className="progress-text">
          <span className="progress-phase">
            {label}
            {running && p.item ? <span className="muted"> · {p.item}</span> : null}
          </span>
          {running && (
            <span className="progress-numbers">
              <span className="muted">{detail}</span>
              <strong>{pct}%</strong>
            </span>
          )}
        </div>
        {active && (
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
        )}
      </div>
      {install.status === "failed" && install.error && <p className="form-error">{install.error}</p>}
    </li>
  );
}
