"use client";
import { useState } from "react";
import { validFramesWithin } from "@/lib/schemas/generation";
import { durationLabel, formatDecimal, snapSecondsToFrames } from "@/lib/ui/format";
import { parseNumber } from "@/lib/ui/generation-form";
import { FieldError } from "./FieldError";

type Props = {
  frames: number;
  fps: number;
  maxFrames: number;
  onChange: (frames: number) => void;
  error?: string;
};

/**
 * Duration in seconds, snapped to the frame counts the VAE accepts (4k+1) at the model's fps: a slider
 * over the valid counts and a seconds box that snaps when it loses focus. The label always shows what
 * will be generated ("81 frames · 5.1 s"). Text that is no duration (−3, 0, "abc") keeps the previous
 * duration and says so, rather than becoming a one-frame still.
 */
export function DurationField({ frames, fps, maxFrames, onChange, error }: Props) {
  const [typed, setTyped] = useState<string | null>(null);
  const [refused, setRefused] = useState<string | null>(null);
  const maxValid = validFramesWithin(maxFrames);
  const commit = () => {
    if (typed === null) return;
    const snapped = snapSecondsToFrames(parseNumber(typed), fps, maxFrames);
    const shown = typed.trim();
    const kept = `kept ${durationLabel(frames, fps)}`;
    setRefused(snapped === null ? `${shown ? `“${shown}” is not a duration: type` : "Type"} the seconds, above 0 (${kept})` : null);
    if (snapped !== null) onChange(snapped);
    setTyped(null);
  };
  const message = error ?? refused ?? undefined;
  return (
    <div className="field">
      <div className="label-row">
        <label className="label" htmlFor="duration-range">
          Duration
        </label>
        <output className="value-chip" htmlFor="duration-range duration-seconds" data-testid="duration-label">
          {durationLabel(frames, fps)}
        </output>
      </div>
      <div className="duration">
        <input
          id="duration-range"
          type="range"
          min={5}
          max={maxValid}
          step={4}
          value={Math.max(5, frames)}
          onChange={(e) => {
            setRefused(null);
            onChange(Number(e.target.value));
          }}
          aria-valuetext={durationLabel(frames, fps)}
          aria-invalid={message ? true : undefined}
          aria-describedby={message ? "frames-error" : undefined}
        />
        <div className="seconds-box">
          <input
            id="duration-seconds"
            type="number"
            inputMode="decimal"
            min={0}
            step={0.25}
            aria-label="Duration in seconds"
            aria-invalid={refused ? true : undefined}
            aria-describedby={refused ? "frames-error" : undefined}
            value={typed ?? formatDecimal(frames / fps, 2)}
            onChange={(e) => setTyped(e.target.value)}
            onBlur={commit}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !(e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                commit();
              }
            }}
          />
          <span aria-hidden="true">s</span>
        </div>
      </div>
      <FieldError id="frames-error" message={message} />
    </div>
  );
}
