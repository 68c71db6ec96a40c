import type { Metadata } from "next";
import { GalleryView } from "@/components/GalleryView";
import { GALLERY_PAGE_SIZE, galleryFilters, loadJobPage } from "@/lib/web/page-data";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Gallery" };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

/** The job history: the first page for the filters in the URL; the grid loads the rest. */
export default async function GalleryPage({ searchParams }: Props) {
  const filters = galleryFilters(await searchParams);
  const initial = await loadJobPage(filters, GALLERY_PAGE_SIZE);
  return (
    <main id="main" className="page">
      <header className="page-head">
        <h1 className="page-title">Gallery</h1>
        <p className="page-sub">Every video with its settings. Hover or tap to play.</p>
      </header>
      <GalleryView initial={initial} initialFilters={filters} pageSize={GALLERY_PAGE_SIZE} />
    </main>
  );
}
