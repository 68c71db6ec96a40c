import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { JobDetail } from "@/components/JobDetail";
import { jobTitle } from "@/lib/ui/format";
import { loadJob, modelFps } from "@/lib/web/page-data";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ id: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const job = await loadJob((await params).id);
  return { title: job ? jobTitle(job) : "Job not found" };
}

/** One job: its live progress or its video, settings, timings and actions. */
export default async function JobPage({ params }: Props) {
  const { id } = await params;
  const job = await loadJob(id);
  if (!job) notFound();
  return (
    <main id="main" className="page">
      <JobDetail key={job.id} initial={job} fps={await modelFps(job.model)} />
    </main>
  );
}
