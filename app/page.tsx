import { StudioWorkspace } from "@/components/StudioWorkspace";
import { loadActiveJobs, loadJob, loadModels, loadRenderDevice } from "@/lib/web/page-data";

export const dynamic = "force-dynamic";

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

/** Text to video: the form, with the model list, the live queue and (for ?from=<jobId>) a job to reuse. */
export default async function StudioPage({ searchParams }: Props) {
  const { from } = await searchParams;
  const [models, activeJobs, reuse, device] = await Promise.all([
    loadModels("t2v"),
    loadActiveJobs(),
    typeof from === "string" ? loadJob(from) : Promise.resolve(null),
    loadRenderDevice(),
  ]);
  return (
    <main id="main" className="page">
      <header className="page-head">
        <h1 className="page-title">Text to video</h1>
        <p className="page-sub" data-testid="render-device">
          Describe a scene; Wan 2.1 renders it {device ? `on ${device}` : "once a worker is running"}.
        </p>
      </header>
      <StudioWorkspace models={models} activeJobs={activeJobs} reuse={reuse} />
    </main>
  );
}
