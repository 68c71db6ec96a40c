/**
 * Shown at once while a page's server part loads (navigation to the gallery and the image page). Not for
 * the job page: a loading boundary starts the answer with 200 before the page can say 404 for an
 * unknown job (Next's streaming contract), and its server part is one database read.
 */
export function PageLoading() {
  return (
    <main id="main" className="page page-loading" aria-busy="true">
      <span className="spinner" aria-hidden="true" />
      <span className="visually-hidden">Loading…</span>
    </main>
  );
}
