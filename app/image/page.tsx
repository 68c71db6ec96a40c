import type { Metadata } from "next";
import { ImageToVideoWorkspace } from "@/components/ImageToVideoWorkspace";
import { loadActiveJobs, loadJob, loadModels } from "@/lib/web/page-data";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Image to video" };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

/** Image to video, and video to video in its second tab (?mode=video). */
export default async function ImagePage({ searchParams }: Props) {
  const { from, mode } = await searchParams;
  const [models, activeJobs, reuse] = await Promise.all([
    loadModels("i2v"),
    loadActiveJobs(),
    typeof from === "string" ? loadJob(from) : Promise.resolve(null),
  ]);
  const initialMode = reuse ? (reuse.kind === "v2v" ? "video" : "image") : mode === "video" ? "video" : "image";
  return (
    <main id="main" className="page">
      <header className="page-head">
        <h1 className="page-title">Image to video</h1>
        <p className="page-sub">Start from a picture or a short clip and describe what happens.</p>
      </header>
      <ImageToVideoWorkspace models={models} activeJobs={activeJobs} reuse={reuse} initialMode={initialMode} />
    </main>
  );
}
