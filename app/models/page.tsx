import type { Metadata } from "next";
import { ModelsManager } from "@/components/ModelsManager";
import { listInstalls } from "@/lib/model-library/install-queue";
import { installs } from "@/lib/server/installs";
import { loadModels } from "@/lib/web/page-data";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Models" };

/** Installed models and installs: the same services as GET /api/models and /api/model-installs. */
export default async function ModelsPage() {
  const [models, list] = await Promise.all([loadModels("i2v"), listInstalls(installs().queue)]);
  return (
    <main id="main" className="page">
      <header className="page-head">
        <h1 className="page-title">Models</h1>
        <p className="page-sub">Install Wan 2.1 weights from Hugging Face, choose the default, rename or remove models.</p>
      </header>
      <ModelsManager initialModels={models} initialInstalls={list} />
    </main>
  );
}
