/** Shown instead of a form when no installed model can do this kind of job: say why and what to do. */
export function NoModels({ what = "model" }: { what?: string }) {
  return (
    <section className="card empty-state" role="status">
      <h2 className="card-title">No {what} installed yet</h2>
      <p>
        The studio generates with the models converted into its models folder (<code>MODELS_DIR</code>, by default{" "}
        <code>data/models</code>). Convert or install a Wan 2.1 model there, then reload this page.
      </p>
    </section>
  );
}
