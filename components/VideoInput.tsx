"use client";
import { outputSizeForPreset } from "@/lib/images/fit";
import type { UploadView } from "@/lib/ui/api-types";
import { formatDecimal } from "@/lib/ui/format";
import { FieldError } from "./FieldError";
import type { ChosenMedia } from "./ImageInput";
import { MediaDrop } from "./MediaDrop";

type Props = {
  video: ChosenMedia | null;
  strength: number;
  preset: { width: number; height: number };
  onVideo: (video: ChosenMedia) => void;
  onStrength: (strength: number) => void;
  errors: { video?: string; strength?: string };
};

/** The video-to-video input: a short source clip and how strongly the prompt may change it. */
export function VideoInput({ video, strength, preset, onVideo, onStrength, errors }: Props) {
  const take = (u: UploadView) => onVideo({ ...u, url: u.fileUrl });
  const output = video ? outputSizeForPreset(video, preset) : null;
  const clip =
    video && video.frames && video.fps ? `${video.frames} frames @ ${formatDecimal(video.fps)} fps (${formatDecimal(video.frames / video.fps)} s)` : null;
  return (
    <section className="card" aria-labelledby="video-input-heading">
      <h2 id="video-input-heading" className="card-title">
        Source clip
      </h2>
      {!video ? (
        <MediaDrop kind="video" inputId="video-input" onUploaded={take} error={errors.video} />
      ) : (
        <div className="input-media">
          <video className="source-video" src={video.url} controls muted playsInline preload="metadata" aria-label="The uploaded clip" />
          <div className="input-media-side">
            <div>
              <p className="media-name" title={video.originalName}>
                {video.originalName}
              </p>
              <p className="hint">
                {video.width}×{video.height}
                {clip ? ` · ${clip}` : ""}
              </p>
            </div>
            {output && (
              <p className="hint" data-testid="v2v-output">
                Output {output.width}×{output.height}, the clip&apos;s shape within the pixel budget of the size below.
              </p>
            )}
            <MediaDrop kind="video" inputId="video-input" onUploaded={take} error={errors.video} compact />
          </div>
        </div>
      )}
      <div className="field">
        <div className="label-row">
          <label className="label" htmlFor="strength">
            Strength
          </label>
          <output className="value-chip" htmlFor="strength">
            {strength.toFixed(2)}
          </output>
        </div>
        <input
          id="strength"
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={strength}
          onChange={(e) => onStrength(Number(e.target.value))}
          aria-invalid={errors.strength ? true : undefined}
          aria-describedby={errors.strength ? "strength-error" : "strength-hint"}
        />
        <FieldError id="strength-error" message={errors.strength} />
        <p id="strength-hint" className="hint">
          0 keeps the clip as it is; 1 follows only the prompt.
        </p>
      </div>
    </section>
  );
}
