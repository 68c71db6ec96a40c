"use client";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { api, ApiError } from "@/lib/client/api";
import type { JobView } from "@/lib/ui/api-types";
import { continueSettingsOf } from "@/lib/ui/chain";
import { FieldError } from "./FieldError";

/** `reuse`: a continuation of `job` whose settings to reuse ("Reuse settings" on that part). */
type Props = { job: JobView; reuse?: JobView | null; onClose: () => void };

/**
 * Continue a clip: the next part starts from this clip's last frame, with the prompt prefilled (edit it
 * to say what happens next) and every other setting kept; the seed is drawn anew. Reusing a continuation
 * fills in that part's prompt and sends its settings and seed, so the same part can be made again or varied.
 */
export function ContinueForm({ job, reuse = null, onClose }: Props) {
  const router = useRouter();
  const [prompt, setPrompt] = useState(reuse?.prompt ?? job.prompt);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; field?: string } | null>(null);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const next = await api.continueJob(job.id, { ...(reuse ? continueSettingsOf(reuse) : {}), prompt });
      router.push(`/jobs/${encodeURIComponent(next.id)}`);
    } catch (err) {
      setError({ message: (err as Error).message, field: err instanceof ApiError ? err.field : undefined });
      setBusy(false);
    }
  };

  return (
    <form className="card continue-card" onSubmit={(e) => void submit(e)} aria-labelledby="continue-heading" data-testid="continue-form">
      <h2 id="continue-heading" className="card-title">
        Continue this clip
      </h2>
      <div className="field">
        <label className="label" htmlFor="continue-prompt">
          What happens next
        </label>
        <textarea
          id="continue-prompt"
          name="prompt"
          rows={3}
          value={prompt}
          onChange={(e) => setPrompt(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void submit(e);
          }}
          aria-invalid={error?.field === "prompt" || undefined}
          aria-describedby={error?.field === "prompt" ? "continue-prompt-error continue-hint" : "continue-hint"}
        />
        <FieldError id="continue-prompt-error" message={error?.field === "prompt" ? error.message : undefined} />
        <p id="continue-hint" className="hint" data-testid="continue-hint">
          {reuse ? (
            <>
              The next part starts from this clip&apos;s last frame, with the prompt, settings and seed
              {reuse.seed !== null ? ` ${reuse.seed}` : ""} of the part you reused; unedited, it makes that part again.
            </>
          ) : (
            <>The next part starts from this clip&apos;s last frame, at its size and with its settings (a new seed).</>
          )}{" "}
          When it is done, its page plays the whole chain as one video.
        </p>
      </div>
      {error && error.field !== "prompt" && <p className="form-error">{error.message}</p>}
      <div className="continue-buttons">
        <button type="submit" className="button button-primary" disabled={busy || !prompt.trim()}>
          {busy ? "Queuing…" : "Queue the next part"}
        </button>
        <button type="button" className="button" onClick={onClose} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
