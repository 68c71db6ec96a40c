"use client";
import { useEffect, useState } from "react";
import { api } from "@/lib/client/api";
import { isFinal, type JobView, type WebhookDeliveries as Deliveries } from "@/lib/ui/api-types";
import { relativeTime } from "@/lib/ui/format";

/** How long after a job ended the page keeps looking for new tries (the backoff spreads 7 tries over about a minute). */
const WATCH_MS = 3 * 60_000;
const POLL_MS = 3000;

/** Each try at telling the job's webhook receivers that it ended: when, where, the answer, how long. */
export function WebhookDeliveries({ job }: { job: JobView }) {
  const [deliveries, setDeliveries] = useState<Deliveries["deliveries"]>([]);
  const ended = isFinal(job.status);

  useEffect(() => {
    if (!ended) return;
    let stopped = false;
    const load = () =>
      api
        .webhooks(job.id)
        .then((r) => !stopped && setDeliveries(r.deliveries))
        .catch(() => undefined);
    void load();
    const finished = job.finishedAt ? Date.parse(job.finishedAt) : Date.now();
    const timer = setInterval(() => {
      if (Date.now() - finished > WATCH_MS) clearInterval(timer);
      else void load();
    }, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [ended, job.id, job.finishedAt]);

  if (!deliveries.length && !job.hasWebhook) return null;
  return (
    <section className="card" aria-labelledby="webhooks-heading" data-testid="webhook-deliveries">
      <h2 id="webhooks-heading" className="card-title">
        Webhooks
      </h2>
      {deliveries.length === 0 ? (
        <p className="hint">{ended ? "Sending…" : "Called when the job ends."}</p>
      ) : (
        <ul className="webhook-list">
          {deliveries.map((d) => (
            <li key={d.id} className="webhook-row" data-ok={d.error === null}>
              <span className={`badge ${d.error === null ? "badge-succeeded" : "badge-failed"}`}>{d.statusCode ?? "no answer"}</span>
              <span className="webhook-what">
                {d.target === "job" ? "job URL" : "global URL"} · {d.origin} · try {d.attempt} · {d.durationMs} ms
                {d.error && <span className="webhook-error"> · {d.error}</span>}
              </span>
              <time dateTime={d.at} className="hint">
                {relativeTime(d.at)}
              </time>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
