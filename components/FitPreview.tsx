import { fitPlacement, type ImageFit, type Rect, type Size } from "@/lib/images/fit";
import { fitSummary } from "@/lib/ui/format";

type Props = {
  src: string;
  input: Size;
  output: Size;
  fit: ImageFit;
};

/** CSS position of `r` inside `frame`, in percent, so the drawing scales with the preview. */
function placedIn(r: Rect, frame: Size) {
  const pct = (v: number, of: number) => `${(v / of) * 100}%`;
  return { left: pct(r.x, frame.width), top: pct(r.y, frame.height), width: pct(r.width, frame.width), height: pct(r.height, frame.height) };
}

/**
 * The exact framing the model will get, drawn from lib/images/fit.ts (the same code the engine uses):
 * for "crop", the whole image with the parts that are cut dimmed; for "pad", the output frame with the
 * image placed inside and the bars around it.
 */
export function FitPreview({ src, input, output, fit }: Props) {
  const p = fitPlacement(input, output, fit);
  const caption = `Output ${output.width}×${output.height} · ${fitSummary(input, output, fit)}`;
  return (
    <figure className="fit-preview" data-testid="fit-preview" data-fit={fit} data-output={`${output.width}x${output.height}`}>
      {fit === "crop" ? (
        <div className="fit-stage" style={{ aspectRatio: `${input.width} / ${input.height}` }}>
          {/* eslint-disable-next-line @next/next/no-img-element -- the uploaded file, shown as stored */}
          <img src={src} alt="The uploaded image" className="fit-image" />
          <div
            className="fit-crop"
            style={placedIn(p.source, input)}
          >
            <span className="fit-size">
              {output.width}×{output.height}
            </span>
          </div>
        </div>
      ) : (
        <div className="fit-stage fit-stage-pad" style={{ aspectRatio: `${output.width} / ${output.height}` }}>
          {/* eslint-disable-next-line @next/next/no-img-element -- the uploaded file, shown as stored */}
          <img
            src={src}
            alt="The uploaded image"
            className="fit-image fit-image-placed"
            style={placedIn(p.target, output)}
          />
          <span className="fit-size fit-size-corner">
            {output.width}×{output.height}
          </span>
        </div>
      )}
      <figcaption className="fit-caption" data-testid="fit-caption">
        {caption}
      </figcaption>
    </figure>
  );
}
