"use client";
import { useCallback, useState } from "react";
import { api } from "@/lib/client/api";
import { useEventSource } from "@/lib/client/use-event-source";
import type { InstallView, ModelView } from "@/lib/ui/api-types";
import { ConfirmDialog } from "./ConfirmDialog";
import { InstallProgress } from "./InstallProgress";
import { ModelInstallForm } from "./ModelInstallForm";
import { ModelRow } from "./ModelRow";

/** The install stream's named events (GET /api/model-installs/events). */
const INSTALL_EVENTS = ["snapshot", "install"] as const;

type Props = { initialModels: ModelView[]; initialInstalls: InstallView[] };

function newestFirst(installs: Map<string, InstallView>): InstallView[] {
  return [...installs.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** The Models page: installs with live progress, the install form, and the installed models with their actions. */
export function ModelsManager({ initialModels, initialInstalls }: Props) {
  const [models, setModels] = useState(initialModels);
  const [installs, setInstalls] = useState(() => new Map(initialInstalls.map((i) => [i.id, i])));
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pendingDelete, setPendingDelete] = useState<ModelView | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);

  const refreshModels = useCallback(async () => {
    try {
      setModels(await api.models());
    } catch (e) {
      setError((e as Error).message);
    }
  }, []);

  const upsert = useCallback((install: InstallView) => {
    setInstalls((prev) => new Map(prev).set(install.id, install));
  }, []);

  useEventSource(
    "/api/model-installs/events",
    (name, data) => {
      if (name === "snapshot") {
        const list = (data as { installs?: InstallView[] }).installs ?? [];
        setInstalls(new Map(list.map((i) => [i.id, i])));
        void refreshModels();
      } else if (name === "install") {
        const install = (data as { install?: InstallView }).install;
        if (!install) return;
        upsert(install);
        if (install.status === "succeeded") void refreshModels();
      }
    },
    INSTALL_EVENTS,
  );

  const act = async (name: string, action: () => Promise<unknown>): Promise<string | null> => {
    setBusy(name);
    setError(null);
    try {
      await action();
      await refreshModels();
      return null;
    } catch (e) {
      return (e as Error).message;
    } finally {
      setBusy(null);
    }
  };

  const confirmDelete = async () => {
    if (!pendingDelete) return;
    const problem = await act(pendingDelete.name, () => api.deleteModel(pendingDelete.name));
    setDeleteError(problem);
    if (!problem) setPendingDelete(null);
  };

  const cancel = async (install: InstallView) => {
    setBusy(install.id);
    try {
      upsert(await api.cancelInstall(install.id));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };

  const list = newestFirst(installs);
  return (
    <div className="models-page">
      <section className="card" aria-labelledby="install-heading">
        <h2 id="install-heading" className="card-title">
          Install a model
        </h2>
        <p className="muted small">
          Downloads the repo&apos;s configs, safetensors weights and tokenizer (checked against the hub&apos;s hashes), then converts them. Nothing appears
          below until the model is complete.
        </p>
        <ModelInstallForm onQueued={upsert} />
        {list.length > 0 && (
          <ul className="install-list" aria-label="Installs" data-testid="install-list">
            {list.map((i) => (
              <InstallProgress key={i.id} install={i} busy={busy === i.id} onCancel={() => void cancel(i)} />
            ))}
          </ul>
        )}
      </section>
      <section className="card" aria-labelledby="models-heading">
        <h2 id="models-heading" className="card-title">
          Installed models
        </h2>
        {error && <p className="form-error">{error}</p>}
        {models.length === 0 ? (
          <p className="muted">No models installed yet.</p>
        ) : (
          <ul className="model-list" data-testid="model-list">
            {models.map((m) => (
              <ModelRow
                key={m.name}
                model={m}
                busy={busy === m.name}
                onMakeDefault={() => void act(m.name, () => api.updateModel(m.name, { default: true })).then((p) => p && setError(p))}
                onRename={(name) => act(m.name, () => api.updateModel(m.name, { name }))}
                onDelete={() => {
                  setDeleteError(null);
                  setPendingDelete(m);
                }}
              />
            ))}
          </ul>
        )}
      </section>
      <ConfirmDialog
        open={pendingDelete !== null}
        title={`Delete ${pendingDelete?.name ?? "the model"}?`}
        confirmLabel="Delete"
        danger
        busy={busy !== null && busy === pendingDelete?.name}
        error={deleteError}
        onConfirm={() => void confirmDelete()}
        onCancel={() => setPendingDelete(null)}
      >
        <p>Its folder ({pendingDelete?.name}) is removed from the models folder. Videos made with it stay in the gallery.</p>
      </ConfirmDialog>
    </div>
  );
}
