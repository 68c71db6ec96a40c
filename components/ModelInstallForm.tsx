"use client";
import { useState, type FormEvent } from "react";
import { api, ApiError } from "@/lib/client/api";
import type { InstallView } from "@/lib/ui/api-types";
import { FieldError } from "./FieldError";

const PRECISIONS = [
  { value: "fp16", label: "fp16 (GPU)" },
  { value: "fp32", label: "fp32 (CPU, exact)" },
  { value: "int8", label: "int8 (quarter of fp32's memory)" },
  { value: "int8-compute", label: "int8-compute (8-bit matmuls)" },
] as const;

/** One LoRA a line: `/path/to/file.safetensors` or `/path/to/file.safetensors:0.8` (strength 1 when omitted). */
function parseLoras(text: string): { file: string; strength: number }[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const m = /^(.*\.safetensors)(?::(-?[\d.]+))?$/.exec(line);
      return m ? { file: m[1], strength: m[2] === undefined ? 1 : Number(m[2]) } : { file: line, strength: 1 };
    });
}

type Props = { onQueued: (install: InstallView) => void };

/** Install from a Hugging Face repo: repo id, revision, precision, and optionally the name it gets. */
export function ModelInstallForm({ onQueued }: Props) {
  const [repo, setRepo] = useState("");
  const [revision, setRevision] = useState("main");
  const [precision, setPrecision] = useState<string>("fp16");
  const [name, setName] = useState("");
  const [loras, setLoras] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const install = await api.installModel({
        source: { repo: repo.trim(), revision: revision.trim() || "main" },
        precision,
        loras: parseLoras(loras),
        ...(name.trim() ? { name: name.trim() } : {}),
      });
      onQueued(install);
      setRepo("");
      setName("");
      setLoras("");
    } catch (err) {
      setError(err instanceof ApiError ? { field: err.field, message: err.message } : { message: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };

  const fieldError = (field: string) => (error?.field === field ? error.message : undefined);
  const loraError = error?.field?.startsWith("loras") ? error.message : undefined;
  const otherError = error && !loraError && !["source.repo", "source.revision", "precision", "name"].includes(error.field ?? "") ? error.message : null;
  return (
    <form className="install-form" onSubmit={(e) => void submit(e)} noValidate aria-label="Install from Hugging Face">
      <div className="field">
        <label className="label" htmlFor="install-repo">
          Hugging Face repo
        </label>
        <input
          id="install-repo"
          value={repo}
          onChange={(e) => setRepo(e.target.value)}
          placeholder="Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
          autoComplete="off"
          spellCheck={false}
          required
          aria-invalid={fieldError("source.repo") ? true : undefined}
          aria-describedby={fieldError("source.repo") ? "install-repo-error" : undefined}
        />
        <FieldError id="install-repo-error" message={fieldError("source.repo")} />
      </div>
      <div className="field-pair">
        <div className="field">
          <label className="label" htmlFor="install-revision">
            Revision
          </label>
          <input id="install-revision" value={revision} onChange={(e) => setRevision(e.target.value)} spellCheck={false} aria-invalid={fieldError("source.revision") ? true : undefined} />
          <FieldError id="install-revision-error" message={fieldError("source.revision")} />
        </div>
        <div className="field">
          <label className="label" htmlFor="install-precision">
            Precision
          </label>
          <select id="install-precision" value={precision} onChange={(e) => setPrecision(e.target.value)}>
            {PRECISIONS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="field">
        <label className="label" htmlFor="install-name">
          Name <span className="muted small">(optional: the repo&apos;s name)</span>
        </label>
        <input id="install-name" value={name} onChange={(e) => setName(e.target.value)} spellCheck={false} aria-invalid={fieldError("name") ? true : undefined} />
        <FieldError id="install-name-error" message={fieldError("name")} />
      </div>
      <div className="field">
        <label className="label" htmlFor="install-loras">
          LoRAs <span className="muted small">(optional: merged into the DiT; one file on the server a line, path.safetensors[:strength])</span>
        </label>
        <textarea
          id="install-loras"
          rows={2}
          value={loras}
          onChange={(e) => setLoras(e.target.value)}
          spellCheck={false}
          placeholder="/data/loras/style.safetensors:0.8"
          aria-invalid={loraError ? true : undefined}
          aria-describedby={loraError ? "install-loras-error" : undefined}
        />
        <FieldError id="install-loras-error" message={loraError} />
      </div>
      {otherError && <p className="form-error">{otherError}</p>}
      <button type="submit" className="button button-primary" disabled={busy || !repo.trim()}>
        {busy ? "Queuing…" : "Install"}
      </button>
    </form>
  );
}
