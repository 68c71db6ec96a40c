"use client";
import { useCallback, useMemo, useState, type KeyboardEvent } from "react";
import { api } from "@/lib/client/api";
import type { ImageFit } from "@/lib/images/fit";
import type { JobView, ModelView } from "@/lib/ui/api-types";
import type { InputValues } from "@/lib/ui/generation-form";
import { ImageInput, type ChosenMedia } from "./ImageInput";
import { NoModels } from "./NoModels";
import { PromptForm } from "./PromptForm";
import { QueuePanel } from "./QueuePanel";
import { VideoInput } from "./VideoInput";

export type InputMode = "image" | "video";

type Props = {
  models: ModelView[];
  activeJobs: JobView[];
  reuse: JobView | null;
  initialMode: InputMode;
};

const TABS: { mode: InputMode; label: string }[] = [
  { mode: "image", label: "Image → video" },
  { mode: "video", label: "Video → video" },
];

/**
 * Image to video (and video to video, in a second tab): the start image or source clip, the same prompt
 * and parameters as text to video, and the live queue. The tab is kept in the URL (?mode=video) so a
 * link or a reload comes back to it.
 */
export function ImageToVideoWorkspace({ models, activeJobs, reuse, initialMode }: Props) {
  const [mode, setMode] = useState<InputMode>(initialMode);
  const [image, setImage] = useState<ChosenMedia | null>(null);
  const [fit, setFit] = useState<ImageFit>("crop");
  const [video, setVideo] = useState<ChosenMedia | null>(null);
  const [strength, setStrength] = useState(0.7);
  const [created, setCreated] = useState<JobView[] | null>(null);
  const [reuseNote, setReuseNote] = useState<string | null>(null);

  const i2vInput = useMemo<InputValues>(() => ({ imageUploadId: image?.id, fit }), [image, fit]);
  const v2vInput = useMemo<InputValues>(() => ({ videoUploadId: video?.id, strength }), [video, strength]);
  const videoModels = useMemo(() => models.filter((m) => m.variant === "t2v"), [models]);

  // "Reuse settings" names the job's upload by id; its size and name come from GET /api/uploads/:id.
  const onReuseInput = useCallback((input: InputValues) => {
    if (input.fit) setFit(input.fit);
    if (input.strength !== undefined) setStrength(input.strength);
    const id = input.imageUploadId ?? input.videoUploadId;
    if (!id) return;
    api.getUpload(id).then(
      (upload) => {
        const chosen: ChosenMedia = { ...upload, url: upload.fileUrl };
        if (upload.kind === "image") setImage(chosen);
        else setVideo(chosen);
      },
      (e: Error) => setReuseNote(`The job's ${input.imageUploadId ? "image" : "clip"} is no longer available (${e.message}); choose another.`),
    );
  }, []);

  const select = (next: InputMode) => {
    setMode(next);
    const url = new URL(window.location.href);
    url.searchParams.delete("from");
    if (next === "video") url.searchParams.set("mode", "video");
    else url.searchParams.delete("mode");
    window.history.replaceState(null, "", url);
  };

  const onTabKey = (e: KeyboardEvent) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    e.preventDefault();
    const next = mode === "image" ? "video" : "image";
    select(next);
    document.getElementById(`tab-${next}`)?.focus();
  };

  if (models.length === 0) return <NoModels />;
  const reused = (kind: "i2v" | "v2v") => (reuse && reuse.kind === kind ? reuse : null);

  return (
    <div className="workspace">
      <div className="workspace-main">
        <div className="tabs" role="tablist" aria-label="Start from">
          {TABS.map((t) => (
            <button
              key={t.mode}
              id={`tab-${t.mode}`}
              type="button"
              role="tab"
              className="tab"
              aria-selected={mode === t.mode}
              aria-controls={`panel-${t.mode}`}
              tabIndex={mode === t.mode ? 0 : -1}
              onClick={() => select(t.mode)}
              onKeyDown={onTabKey}
            >
              {t.label}
            </button>
          ))}
        </div>
        {reuseNote && <p className="form-error">{reuseNote}</p>}
        <div id={`panel-${mode}`} role="tabpanel" aria-labelledby={`tab-${mode}`}>
          {mode === "image" ? (
            <PromptForm
              key="i2v"
              kind="i2v"
              models={models}
              reuse={reused("i2v")}
              input={i2vInput}
              onReuseInput={onReuseInput}
              onCreated={setCreated}
              sizeLegend="Pixel budget"
              sizeHint="The output keeps the image's aspect ratio with about this many pixels."
              renderInput={({ values, errors }) => (
                <ImageInput image={image} fit={fit} preset={values} onImage={setImage} onFit={setFit} error={errors.image} />
              )}
            />
          ) : videoModels.length === 0 ? (
            <NoModels what="text-to-video model (video to video runs on one)" />
          ) : (
            <PromptForm
              key="v2v"
              kind="v2v"
              models={videoModels}
              reuse={reused("v2v")}
              input={v2vInput}
              onReuseInput={onReuseInput}
              onCreated={setCreated}
              sizeLegend="Pixel budget"
              sizeHint="The output keeps the clip's aspect ratio with about this many pixels."
              renderInput={({ values, errors }) => (
                <VideoInput
                  video={video}
                  strength={strength}
                  preset={values}
                  onVideo={setVideo}
                  onStrength={setStrength}
                  errors={{ video: errors.video, strength: errors.strength }}
                />
              )}
            />
          )}
        </div>
      </div>
      <QueuePanel initialJobs={activeJobs} created={created} />
    </div>
  );
}
