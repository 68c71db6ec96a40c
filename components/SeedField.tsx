"use client";
import { useState } from "react";
import { api } from "@/lib/client/api";
import { FieldError } from "./FieldError";
import { DiceIcon, ReuseIcon } from "./Icons";

type Props = {
  value: string;
  onChange: (value: string) => void;
  error?: string;
};

/**
 * The seed: empty draws a random one (the job page shows which). The die clears it back to random; the arrows take
 * the seed of the newest job that has one, to iterate on a result you liked.
 */
export function SeedField({ value, onChange, error }: Props) {
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const reuseLast = async () => {
    setBusy(true);
    setNote(null);
    try {
      const { jobs } = await api.listJobs({ limit: 20 });
      const last = jobs.find((j) => j.seed !== null);
      if (last && last.seed !== null) {
        onChange(String(last.seed));
        setNote(`Seed of “${last.prompt.slice(0, 40)}${last.prompt.length > 40 ? "…" : ""}”`);
      } else {
        setNote("No job has a seed yet.");
      }
    } catch (e) {
      setNote((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="field">
      <label className="label" htmlFor="seed">
        Seed
      </label>
      <div className="input-group">
        <input
          id="seed"
          name="seed"
          inputMode="numeric"
          autoComplete="off"
          placeholder="Random"
          value={value}
          onChange={(e) => {
            setNote(null);
            onChange(e.target.value.trim());
          }}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "seed-error" : note ? "seed-note" : undefined}
        />
        <button
          type="button"
          className="icon-button"
          onClick={() => {
            setNote(null);
            onChange("");
          }}
          title="Random seed"
          aria-label="Random seed"
        >
          <DiceIcon />
        </button>
        <button
          type="button"
          className="icon-button"
          onClick={() => void reuseLast()}
          disabled={busy}
          title="Reuse the last job's seed"
          aria-label="Reuse the last job's seed"
        >
          <ReuseIcon />
        </button>
      </div>
      <FieldError id="seed-error" message={error} />
      {note && !error && (
        <p id="seed-note" className="hint" aria-live="polite">
          {note}
        </p>
      )}
    </div>
  );
}
