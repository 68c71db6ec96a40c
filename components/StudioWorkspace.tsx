"use client";
import { useState } from "react";
import type { JobView, ModelView } from "@/lib/ui/api-types";
import { NoModels } from "./NoModels";
import { PromptForm } from "./PromptForm";
import { QueuePanel } from "./QueuePanel";

type Props = {
  models: ModelView[];
  activeJobs: JobView[];
  reuse: JobView | null;
};

/**
 * Text to video: the form and the live queue side by side (stacked on a phone). After Generate the user
 * stays here with the form still filled, and the new job appears at once in the queue with a link to its
 * page: trying a variation is the common next step, and the queue shows progress without leaving.
 */
export function StudioWorkspace({ models, activeJobs, reuse }: Props) {
  const [created, setCreated] = useState<JobView[] | null>(null);
  if (models.length === 0) return <NoModels what="text-to-video model" />;
  return (
    <div className="workspace">
      <div className="workspace-main">
        <PromptForm kind="t2v" models={models} reuse={reuse} onCreated={setCreated} />
      </div>
      <QueuePanel initialJobs={activeJobs} created={created} />
    </div>
  );
}
