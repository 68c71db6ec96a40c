import { isFinal, type JobView } from "@/lib/ui/api-types";
import type { Solver } from "@/lib/schemas/generation";
import { aspectLabel, durationLabel, SOLVER_LABELS } from "@/lib/ui/format";
import { englishRendering } from "@/lib/ui/negative-prompt";
import { isContinuation, jobOrigin, ORIGIN_NAMES } from "@/lib/ui/job-origin";

type Props = {
  job: JobView;
  fps: number | null;
  /** The decoded video's size, when the player has read it. */
  outputSize: { width: number; height: number } | null;
};

const n = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** Every setting of a job and the seed it used. */
export function JobSettings({ job, fps, outputSize }: Props) {
  const p = job.params;
  const width = n(p.width);
  const height = n(p.height);
  const frames = n(p.frames);
  const rows: [string, string][] = [
    ["Kind", ORIGIN_NAMES[jobOrigin(job)]],
    ["Model", job.model],
  ];
  // A continuation's image is its previous part's last frame (the chain panel links that part).
  if (job.chain && isContinuation(job)) rows.splice(1, 0, ["Starts from", `the last frame of part ${job.chain.part - 1}`]);
  if (width && height) {
    // Image and video to video keep the input's shape: the request's size is only a pixel budget.
    if (job.kind === "t2v") rows.push(["Size", aspectLabel(width, height)]);
    else rows.push(["Pixel budget", `${width}×${height} · ${(width * height).toLocaleString("en-US")} px`]);
  }
  if (outputSize && (outputSize.width !== width || outputSize.height !== height)) rows.push(["Output", `${outputSize.width}×${outputSize.height}`]);
  if (frames) rows.push(["Duration", fps ? durationLabel(frames, fps) : `${frames} frames`]);
  if (n(p.steps) !== undefined) rows.push(["Steps", String(p.steps)]);
  if (n(p.guidance) !== undefined) rows.push(["Guidance", String(p.guidance)]);
  if (n(p.shift) !== undefined) rows.push(["Shift", String(p.shift)]);
  if (typeof p.solver === "string") rows.push(["Sampler", SOLVER_LABELS[p.solver as Solver]?.name ?? p.solver]);
  if (typeof p.grid === "string") rows.push(["Sigma schedule", p.grid === "diffusers" ? "Diffusers" : "Official"]);
  if (typeof p.speed === "string") rows.push(["Speed", p.speed.charAt(0).toUpperCase() + p.speed.slice(1)]);
  if (typeof p.fit === "string") rows.push(["Fit", p.fit === "pad" ? "Pad" : "Crop"]);
  if (n(p.strength) !== undefined) rows.push(["Strength", String(p.strength)]);
  const seedText =
    job.seed !== null
      ? `${job.seed}${p.seed === undefined ? " (random)" : ""}`
      : p.seed !== undefined
        ? String(p.seed)
        : isFinal(job.status)
          ? "random (none drawn)"
          : "random, drawn when it starts";

  const english = englishRendering(job.negativePrompt);

  return (
    <section className="card settings-card" aria-labelledby="settings-heading">
        <h2 id="settings-heading" className="card-title">
          Settings
        </h2>
        <dl className="settings" data-testid="job-settings">
          {rows.map(([k, v]) => (
            <div key={k} className="settings-row">
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
          <div className="settings-row">
            <dt>Seed</dt>
            <dd data-testid="job-seed">{seedText}</dd>
          </div>
        </dl>
        {job.inputThumbnailUrl && (
          <figure className="input-thumb">
            {/* eslint-disable-next-line @next/next/no-img-element -- the input's thumbnail from the API */}
            <img src={job.inputThumbnailUrl} alt={job.kind === "v2v" ? "Source clip" : "Start image"} />
            <figcaption className="hint">{job.kind === "v2v" ? "Source clip" : "Start image"}</figcaption>
          </figure>
        )}
        <details className="disclosure">
          <summary>Negative prompt</summary>
          <p lang={english ? "zh" : undefined}>{job.negativePrompt || <em>none</em>}</p>
          {english && (
            <p className="hint" lang="en">
              In English: {english}
            </p>
          )}
        </details>
    </section>
  );
}
