import { splitTimings } from "@/lib/schemas/dit-calls";
import { isFinal, type JobView } from "@/lib/ui/api-types";
import { formatDuration, phaseShortLabel, relativeTime } from "@/lib/ui/format";


/**
 * Where a job's time went: the wait in the queue and the seconds of each phase; and how many DiT passes the
 * denoising made and how many of them step caching (the speed setting) skipped.
 */
export function JobTimings({ job }: { job: JobView }) {
  const { phases, ditCalls } = job.timings ? splitTimings(job.timings) : { phases: {}, ditCalls: null };
  const timings = Object.entries(phases);
  const total = timings.reduce((s, [, v]) => s + v, 0);
  const waited = job.startedAt ? (new Date(job.startedAt).getTime() - new Date(job.createdAt).getTime()) / 1000 : null;
  return (
    <section className="card timings-card" aria-labelledby="timings-heading">
      <h2 id="timings-heading" className="card-title">
        Timings
      </h2>
      <dl className="settings">
        <div className="settings-row">
          <dt>Created</dt>
          <dd>
            <time dateTime={job.createdAt} title={new Date(job.createdAt).toLocaleString()}>
              {relativeTime(job.createdAt)}
            </time>
          </dd>
        </div>
        {waited !== null && (
          <div className="settings-row">
            <dt>Waited in queue</dt>
            <dd>{formatDuration(waited)}</dd>
          </div>
        )}
        {timings.map(([phase, s]) => (
          <div key={phase} className="settings-row">
            <dt>{phaseShortLabel(phase)}</dt>
            <dd>{formatDuration(s)}</dd>
          </div>
        ))}
        {timings.length > 1 && (
          <div className="settings-row settings-total">
            <dt>Total</dt>
            <dd>{formatDuration(total)}</dd>
          </div>
        )}
        {ditCalls && (
          <div className="settings-row" data-testid="dit-calls">
            <dt>DiT passes</dt>
            <dd>
              {ditCalls.calls - ditCalls.skipped} of {ditCalls.calls} run · {ditCalls.skipped} skipped
            </dd>
          </div>
        )}
        {timings.length === 0 && (
          <div className="settings-row">
            <dt>Phases</dt>
            <dd className="muted">{isFinal(job.status) ? "not recorded" : "measured as it runs"}</dd>
          </div>
        )}
      </dl>
    </section>
  );
}
