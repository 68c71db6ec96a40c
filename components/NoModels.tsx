/** Shown instead of a form when GET /api/models lists nothing: say why and what to do. */
export function NoModels() {
  return (
    <section className="card empty-state" role="status">
      <h2 className="card-title">No model installed yet</h2>
      <p>
        The studio generates with the models converted into its models folder (<code>MODELS_DIR</code>, by default{" "}
        <code>data/models</code>). Convert or install a Wan 2.1 model there, then reload this page.
      </p>
    </section>
  );
}
