"use client";
import { useEffect, useState } from "react";
import { api } from "@/lib/client/api";
import type { WorkerView } from "@/lib/ui/api-types";
import { formatBytes } from "@/lib/ui/format";

/** Workers refresh their entry every 5 s (lib/queue/worker-registry.ts, HEARTBEAT_MS): polling as often shows every change. */
const POLL_MS = 5_000;

/** "8.0 GB (nvidia-smi), 6.1 GB free" or "unknown: no limit". */
function memoryText(m: WorkerView["memory"]): string {
  if (m.totalBytes === null) return "unknown (no limit applied)";
  return `${formatBytes(m.totalBytes)} (${m.source})${m.freeBytes !== null ? `, ${formatBytes(m.freeBytes)} free` : ""}`;
}

function deviceText(w: WorkerView): string {
  const providers = w.executionProviders.join(", ") || "none";
  return w.adapter ? `${providers} · ${w.adapter.description || w.adapter.vendor}` : providers;
}

/**
 * What a state other than "ready" means for the user, beside its badge: a draining worker still shows as
 * busy, and without this it looks like any other until it disappears (lib/jobs/worker.ts, drain).
 */
const STATE_NOTES: Record<WorkerView["state"], string | null> = {
  ready: null,
  draining: "Stopping: finishes the job it is running, takes no new one, then exits.",
};

/**
 * The live workers: one card each with host, device, memory, loaded model, busy or idle, its state as a
 * badge (with what it means when it is not "ready", e.g. "draining") and the capability classes it takes.
 * Kept current by polling GET /api/workers; a worker that stops disappears when its entry expires.
 */
export function WorkersPanel({ initialWorkers }: { initialWorkers: WorkerView[] }) {
  const [workers, setWorkers] = useState(initialWorkers);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const poll = () =>
      api
        .workers()
        .then((r) => {
          setWorkers(r.workers);
          setError(null);
        })
        .catch((e: Error) => setError(e.message));
    const timer = setInterval(poll, POLL_MS);
    return () => clearInterval(timer);
  }, []);

  return (
    <section className="card workers" aria-labelledby="workers-heading" data-testid="workers-panel">
      <h2 id="workers-heading" className="card-title">
        Live workers
        <span className="count" aria-label={`${workers.length} live`}>
          {workers.length}
        </span>
      </h2>
      {error && <p className="form-error">{error}</p>}
      {workers.length === 0 ? (
        <p className="queue-empty">No worker is running. Start one with `npm run worker` on any machine that reaches Redis, the database and the storage root.</p>
      ) : (
        <ul className="workers-list">
          {workers.map((w) => (
            <li key={w.id} className={`worker-item worker-item-${w.state}`} data-worker-id={w.id} data-state={w.state}>
              <div className="worker-head">
                <strong className="worker-host">{w.host}</strong>
                <span className={`worker-state worker-state-${w.state}`} title={STATE_NOTES[w.state] ?? undefined}>
                  {w.state}
                </span>
                <span className="worker-busy">{w.running > 0 ? `busy ${w.running}/${w.concurrency}` : `idle (0/${w.concurrency})`}</span>
              </div>
              {STATE_NOTES[w.state] && <p className="worker-state-note">{STATE_NOTES[w.state]}</p>}
              <dl className="worker-facts">
                <dt>Device</dt>
                <dd>{deviceText(w)}</dd>
                <dt>Memory</dt>
                <dd>{memoryText(w.memory)}</dd>
                <dt>Loaded model</dt>
                <dd>{w.model ?? "none yet"}</dd>
                <dt>Models</dt>
                <dd>{w.models.join(", ") || "none"}</dd>
                <dt>Kinds</dt>
                <dd>{w.kinds.join(", ")}</dd>
                <dt>Takes</dt>
                <dd className="worker-queues">{w.queues.length ? w.queues.join(", ") : "no job class yet"}</dd>
                <dt>Process</dt>
                <dd>
                  pid {w.pid}, since {new Date(w.startedAt).toLocaleTimeString()}
                </dd>
              </dl>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
