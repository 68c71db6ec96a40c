/** Shown at once while a page's server part loads (navigation between the studio's pages). */
export default function Loading() {
  return (
    <main id="main" className="page page-loading" aria-busy="true">
      <span className="spinner" aria-hidden="true" />
      <span className="visually-hidden">Loading…</span>
    </main>
  );
}
