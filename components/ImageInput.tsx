"use client";
import { outputSizeForPreset, type ImageFit } from "@/lib/images/fit";
import type { UploadView } from "@/lib/ui/api-types";
import { FitPreview } from "./FitPreview";
import { MediaDrop } from "./MediaDrop";

export type ChosenMedia = Pick<UploadView, "id" | "width" | "height" | "originalName" | "frames" | "fps"> & { url: string };

type Props = {
  image: ChosenMedia | null;
  fit: ImageFit;
  /** The selected size preset: its area is the pixel budget. */
  preset: { width: number; height: number };
  onImage: (image: ChosenMedia) => void;
  onFit: (fit: ImageFit) => void;
  error?: string;
};

/** The image-to-video input: the start image, how it is fitted, and a preview of the exact framing. */
export function ImageInput({ image, fit, preset, onImage, onFit, error }: Props) {
  const output = image ? outputSizeForPreset(image, preset) : null;
  const take = (u: UploadView) => onImage({ ...u, url: u.fileUrl });
  return (
    <section className="card" aria-labelledby="image-heading">
      <h2 id="image-heading" className="card-title">
        Start image
      </h2>
      {!image || !output ? (
        <MediaDrop kind="image" inputId="image-input" onUploaded={take} error={error} />
      ) : (
        <div className="input-media">
          <FitPreview src={image.url} input={image} output={output} fit={fit} />
          <div className="input-media-side">
            <div>
              <p className="media-name" title={image.originalName}>
                {image.originalName}
              </p>
              <p className="hint">
                {image.width}×{image.height}
              </p>
            </div>
            <fieldset className="field">
              <legend className="label">Fit</legend>
              <div className="segmented">
                {(
                  [
                    ["crop", "Crop", "fill the frame"],
                    ["pad", "Pad", "keep everything"],
                  ] as const
                ).map(([value, name, note]) => (
                  <label key={value} className="segment" data-checked={fit === value || undefined}>
                    <input type="radio" name="fit" value={value} checked={fit === value} onChange={() => onFit(value)} />
                    <span className="segment-name">{name}</span>
                    <span className="segment-note">{note}</span>
                  </label>
                ))}
              </div>
            </fieldset>
            <p className="hint">
              The video keeps the image&apos;s shape within the pixel budget of the size below; sides are rounded down to
              multiples of 16.
            </p>
            <MediaDrop kind="image" inputId="image-input" onUploaded={take} error={error} compact />
          </div>
        </div>
      )}
    </section>
  );
}
