import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { JobDetail } from "@/components/JobDetail";
import { jobTitle } from "@/lib/ui/format";
import { loadJob, modelFps } from "@/lib/web/page-data";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ id: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const job = await loadJob((await params).id);
  return { title: job ? jobTitle(job) : "Job not found" };
}

/**
 * One job: its live progress or its video, settings, timings and actions. ?from=<a continuation of it>
 * ("Reuse settings" on that part, lib/ui/links.ts) opens its Continue form with that part's settings.
 */
export default async function JobPage({ params, searchParams }: Props) {
  const { id } = await params;
  const { from } = await searchParams;
  const [job, reused] = await Promise.all([loadJob(id), typeof from === "string" ? loadJob(from) : Promise.resolve(null)]);
  if (!job) notFound();
  const reuse = reused && reused.continuesJobId === job.id ? reused : null;
  return (
    <main id="main" className="page">
      <JobDetail key={job.id} initial={job} fps={await modelFps(job.model)} reuse={reuse} />
    </main>
  );
}
