import type { Metadata } from "next";
import { WorkersPanel } from "@/components/WorkersPanel";
import { loadWorkers } from "@/lib/web/page-data";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Workers" };

/** The live workers on every host: the same list as GET /api/workers, kept current by polling it. */
export default async function WorkersPage() {
  const workers = await loadWorkers();
  return (
    <main id="main" className="page">
      <header className="page-head">
        <h1 className="page-title">Workers</h1>
        <p className="page-sub">Every worker process on every host: what it runs on, its memory, the model it has loaded and the job classes it takes.</p>
      </header>
      <WorkersPanel initialWorkers={workers} />
    </main>
  );
}
