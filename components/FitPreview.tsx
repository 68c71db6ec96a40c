import { fitPlacement, type ImageFit, type Size } from "@/lib/images/fit";
import { fitSummary } from "@/lib/ui/format";

type Props = {
  src: string;
  input: Size;
  output: Size;
  fit: ImageFit;
};

const pct = (v: number, of: number) => `${(v / of) * 100}%`;

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
            style={{
              left: pct(p.source.x, input.width),
              top: pct(p.source.y, input.height),
              width: pct(p.source.width, input.width),
              height: pct(p.source.height, input.height),
            }}
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
            style={{
              left: pct(p.target.x, output.width),
              top: pct(p.target.y, output.height),
              width: pct(p.target.width, output.width),
              height: pct(p.target.height, output.height),
            }}
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
