"use client";
/**
 * A page that could not be rendered (the database or Redis unreachable, for instance): say so in the
 * studio's frame and offer to try again, instead of a blank screen.
 */
export default function PageError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <main id="main" className="page">
      <section className="card empty-state" role="alert">
        <h1 className="card-title">This page could not be loaded</h1>
        <p>The studio&apos;s server had a problem ({error.digest ? `reference ${error.digest}` : error.message}). Check that it is running, then try again.</p>
        <button type="button" className="button button-primary" onClick={reset}>
          Try again
        </button>
      </section>
    </main>
  );
}
