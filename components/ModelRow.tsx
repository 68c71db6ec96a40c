"use client";
import { useState, type FormEvent } from "react";
import type { ModelView } from "@/lib/ui/api-types";
import { formatBytes, relativeTime } from "@/lib/ui/format";
import { FieldError } from "./FieldError";

type Props = {
  model: ModelView;
  busy: boolean;
  onMakeDefault: () => void;
  /** Resolves to an error message to show under the name field, or null once renamed. */
  onRename: (name: string) => Promise<string | null>;
  onDelete: () => void;
};

/** One installed model: name, variant, precision, size, source and date; make default, rename, delete. */
export function ModelRow({ model, busy, onMakeDefault, onRename, onDelete }: Props) {
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(model.name);
  const [error, setError] = useState<string | null>(null);
  const id = `rename-${model.name}`;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problem = await onRename(name.trim());
    setError(problem);
    if (!problem) setRenaming(false);
  };

  return (
    <li className="model-row" data-testid="model-row" data-model={model.name}>
      <div className="model-row-head">
        {renaming ? (
          <form className="model-rename" onSubmit={(e) => void submit(e)} noValidate>
            <label className="visually-hidden" htmlFor={id}>
              New name for {model.name}
            </label>
            <input id={id} value={name} onChange={(e) => setName(e.target.value)} spellCheck={false} autoFocus aria-invalid={error ? true : undefined} />
            <button type="submit" className="button button-small button-primary" disabled={busy}>
              Save
            </button>
            <button type="button" className="button button-small" onClick={() => (setRenaming(false), setError(null), setName(model.name))}>
              Cancel
            </button>
          </form>
        ) : (
          <h3 className="model-name">{model.name}</h3>
        )}
        <div className="model-tags">
          {model.default && <span className="badge badge-succeeded">Default</span>}
          <span className="tag">{model.variant}</span>
          {model.recipe && <span className="tag">distilled · {model.recipe.label}</span>}
          {model.precision && <span className="tag">{model.precision}</span>}
          {model.tiny && <span className="tag tag-warn">tiny test model</span>}
        </div>
      </div>
      <FieldError id={`${id}-error`} message={error ?? undefined} />
      <p className="model-meta muted small">
        {formatBytes(model.sizeBytes)} · {model.source} · installed <time dateTime={model.installedAt}>{relativeTime(model.installedAt)}</time>
      </p>
      <div className="model-actions">
        <button type="button" className="button button-small" onClick={onMakeDefault} disabled={busy || model.default}>
          Make default
        </button>
        <button type="button" className="button button-small" onClick={() => setRenaming(true)} disabled={busy || renaming}>
          Rename
        </button>
        <button type="button" className="button button-small button-quiet-danger" onClick={onDelete} disabled={busy}>
          Delete
        </button>
      </div>
    </li>
  );
}
