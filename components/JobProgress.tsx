import type { JobView } from "@/lib/ui/api-types";
import { decodedFrames, formatDuration, percent, phaseLabel } from "@/lib/ui/format";
import { progressOf } from "@/lib/ui/job-state";

type Props = {
  job: Pick<JobView, "status" | "phase" | "step" | "totalSteps" | "progress" | "etaS">;
  /** One line for the queue panel instead of the job page's full block. */
  compact?: boolean;
  /** Queue position for a queued job (1 = next). */
  position?: number;
};

/** Phase, step i/N, percent, ETA and a progress bar for a queued or running job. */
export function JobProgress({ job, compact, position }: Props) {
  const fraction = progressOf(job);
  const pct = percent(fraction);
  const running = job.status === "running";
  const phase = running ? phaseLabel(job.phase) : job.status === "queued" ? "Waiting in queue" : phaseLabel(job.phase);
  // Denoising counts sampler steps; decoding counts the video's frames (the worker reports latent
  // frames, each four video frames but the first); the short phases have nothing to count.
  const counted =
    job.phase === "denoise"
      ? `step ${job.step}/${job.totalSteps}`
      : job.phase === "decode"
        ? `frame ${decodedFrames(job.step)}/${decodedFrames(job.totalSteps)}`
        : null;
  const steps = running && counted && job.totalSteps > 0 ? counted : null;
  const eta = running && job.etaS != null ? `ETA ${formatDuration(job.etaS)}` : null;
  const detail = [steps, eta].filter(Boolean).join(" · ");
  return (
    <div className={compact ? "progress progress-compact" : "progress"} data-testid="job-progress">
      <div className="progress-text">
        <span className="progress-phase">
          {phase}
          {job.status === "queued" && position ? <span className="muted"> · #{position} in line</span> : null}
        </span>
        {running && (
          <span className="progress-numbers">
            {detail && <span className="muted">{detail}</span>}
            <strong>{pct}%</strong>
          </span>
        )}
      </div>
      <div
        className="progress-track"
        role="progressbar"
        aria-label={`${phase}${detail ? `, ${detail}` : ""}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={running ? pct : undefined}
        data-indeterminate={!running || undefined}
      >
        <div className="progress-fill" style={{ width: running ? `${pct}%` : undefined }} />
      </div>
    </div>
  );
}
