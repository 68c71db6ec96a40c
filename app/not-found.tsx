import Link from "next/link";

export default function NotFound() {
  return (
    <main id="main" className="page">
      <section className="card empty-state">
        <h1 className="card-title">Not found</h1>
        <p>This job or page does not exist (it may have been deleted).</p>
        <Link href="/gallery" className="button">
          Open the gallery
        </Link>
      </section>
    </main>
  );
}
