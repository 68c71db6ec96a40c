"use client";
import Link from "next/link";
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from "react";
import { ApiError, api } from "@/lib/client/api";
import { useLocalSettings } from "@/lib/client/use-local-settings";
import { MAX_PROMPT_CHARS } from "@/lib/schemas/generation";
import { initialModel, type BatchView, type JobKind, type JobView, type ModelView } from "@/lib/ui/api-types";
import {
  defaultValues,
  formFieldFor,
  parseStoredValues,
  reconcile,
  restoreValues,
  switchModel,
  SINGLE,
  validateSubmission,
  valuesFromJob,
  type BatchChoice,
  type FieldErrors,
  type FormField,
  type FormValues,
  type InputValues,
} from "@/lib/ui/generation-form";
import { defaultNegativeFor } from "@/lib/ui/negative-prompt";
import { promptExcerpt } from "@/lib/ui/format";
import { batchHref } from "@/lib/ui/links";
import { promptLines } from "@/lib/schemas/batch";
import { BatchFields } from "./BatchFields";
import { DurationField } from "./DurationField";
import { FastPreset } from "./FastPreset";
import { FieldError } from "./FieldError";
import { ModelPicker } from "./ModelPicker";
import { NegativePromptField } from "./NegativePromptField";
import { ParameterFields } from "./ParameterFields";
import { SeedField } from "./SeedField";
import { SizePresets } from "./SizePresets";

export type InputSlotContext = { values: FormValues; model: ModelView; errors: FieldErrors };

type Props = {
  kind: JobKind;
  models: ModelView[];
  /** A job whose settings fill the form (?from=<jobId>); wins over the remembered settings. */
  reuse?: JobView | null;
  /** The upload and its options for image- and video-to-video, owned by the page around the form. */
  input?: InputValues;
  /** Renders the image or video section above the prompt. */
  renderInput?: (ctx: InputSlotContext) => ReactNode;
  /** Hands the reused job's input (upload, fit, strength) to the page that owns it. */
  onReuseInput?: (input: InputValues) => void;
  /** The jobs one Generate queued: one, or a batch's in batch order. */
  onCreated: (jobs: JobView[]) => void;
  sizeLegend?: string;
  sizeHint?: string;
};

const ADVANCED: FormField[] = ["steps", "guidance", "shift", "solver", "grid"];

/** Where keyboard focus goes for a field's error. */
const FOCUS_TARGET: Partial<Record<FormField, string>> = {
  size: 'input[name="size"]',
  frames: "#duration-range",
  image: "#image-input",
  video: "#video-input",
  strength: "#strength",
  solver: 'input[name="solver"]',
  variations: "#variations",
};

/**
 * The generation form shared by text-, image- and video-to-video: prompt, negative prompt, model, size
 * preset, duration, seed and the advanced sampling parameters. Validates with the shared schema before
 * sending, shows the server's field errors in the same places, remembers the last settings per kind,
 * and submits with Ctrl/Cmd+Enter from anywhere in the form.
 */
export function PromptForm({ kind, models, reuse, input, renderInput, onReuseInput, onCreated, sizeLegend, sizeHint }: Props) {
  const fallback = initialModel(models) ?? models[0];
  const [values, setValues] = useState<FormValues>(() => defaultValues(fallback));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [attempted, setAttempted] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const [created, setCreated] = useState<{ job: JobView } | { batch: BatchView } | null>(null);
  // Not remembered: a reload (or a reused job) goes back to one video.
  const [choice, setChoice] = useState<BatchChoice>(SINGLE);
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const [ready, setReady] = useState(false);
  // The shortcut as this keyboard labels it (Ctrl+Enter and Cmd+Enter both work everywhere).
  const [shortcut, setShortcut] = useState("Ctrl+Enter");
  useEffect(() => {
    if (/Mac|iPhone|iPad/.test(navigator.platform)) setShortcut("⌘+Enter");
  }, []);
  const [stored, save] = useLocalSettings(`wan-studio:form:${kind}`, parseStoredValues);
  const restored = useRef(false);
  const formRef = useRef<HTMLFormElement>(null);

  const model = useMemo(() => models.find((m) => m.name === values.model) ?? fallback, [models, values.model, fallback]);
  const defaultNegative = defaultNegativeFor(model, kind);

  // Once the remembered settings are read: a reused job's settings win, else the remembered ones.
  useEffect(() => {
    if (stored === undefined || restored.current) return;
    restored.current = true;
    setReady(true);
    if (reuse) {
      const fromJob = valuesFromJob(reuse);
      setValues(restoreValues(models, fromJob, fallback));
      onReuseInput?.(fromJob);
      // Show the advanced parameters when the job changed any of them from its model's defaults.
      const defaults: Record<string, unknown> = (models.find((m) => m.name === reuse.model) ?? fallback).defaults;
      const p = reuse.params ?? {};
      if (["steps", "guidance", "shift", "solver"].some((k) => p[k] !== undefined && p[k] !== defaults[k])) setAdvancedOpen(true);
      // Applied once: from now on the remembered settings follow the user's edits, also across reloads.
      const url = new URL(window.location.href);
      url.searchParams.delete("from");
      window.history.replaceState(window.history.state, "", url);
    } else {
      setValues(restoreValues(models, stored, fallback));
    }
  }, [stored, reuse, models, fallback, onReuseInput]);

  useEffect(() => {
    if (restored.current) save(values);
  }, [values, save]);

  const validate = useCallback((v: FormValues) => validateSubmission(v, kind, defaultNegative, input, choice), [kind, defaultNegative, input, choice]);

  const update = (patch: Partial<FormValues>) => setValues((prev) => ({ ...prev, ...patch }));

  // After a failed submit, errors follow the edits (and the upload arriving) so the user sees a fix land.
  useEffect(() => {
    if (!attempted) return;
    const r = validate(values);
    setErrors(r.ok ? {} : r.errors);
  }, [input, attempted, validate, values]);

  const focusField = (field: FormField) => {
    const selector = FOCUS_TARGET[field] ?? `#${field}`;
    const el = formRef.current?.querySelector<HTMLElement>(selector) ?? document.querySelector<HTMLElement>(selector);
    el?.focus();
  };

  const showErrors = (errs: FieldErrors) => {
    setErrors(errs);
    const order: FormField[] = ["image", "video", "strength", "fit", "prompt", "variations", "negativePrompt", "model", "size", "frames", "seed", ...ADVANCED, "form"];
    const first = order.find((f) => errs[f]);
    if (first && ADVANCED.includes(first)) setAdvancedOpen(true);
    if (first && first !== "form") requestAnimationFrame(() => focusField(first));
  };

  const submit = async () => {
    if (submitting) return;
    setAttempted(true);
    setCreated(null);
    const r = validate(values);
    if (!r.ok) {
      showErrors(r.errors);
      return;
    }
    setErrors({});
    setSubmitting(true);
    try {
      if (r.endpoint === "/api/batches") {
        const batch = await api.createBatch(r.body);
        setCreated({ batch });
        onCreated(batch.jobs);
      } else {
        const job = await api.createJob(r.body);
        setCreated({ job });
        onCreated([job]);
      }
      setAttempted(false);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(0, "unknown", (e as Error).message);
      showErrors({ [formFieldFor(err.field)]: err.message });
    } finally {
      setSubmitting(false);
    }
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLFormElement>) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void submit();
    }
  };

  const d = model.defaults;
  return (
    <form ref={formRef} className="studio-form" onSubmit={onSubmit} onKeyDown={onKeyDown} noValidate aria-label="Generation settings" data-ready={ready || undefined}>
      {renderInput?.({ values, model, errors })}

      <section className="card" aria-labelledby="prompt-heading">
        <h2 id="prompt-heading" className="card-title">
          Prompt
        </h2>
        <div className="field">
          <div className="label-row">
            <label className="label" htmlFor="prompt">
              Describe the video
            </label>
            <span className="counter" aria-hidden="true">
              {values.prompt.length} / {MAX_PROMPT_CHARS}
            </span>
          </div>
          <textarea
            id="prompt"
            name="prompt"
            rows={4}
            className="prompt-input"
            placeholder={
              choice.perLine
                ? `One prompt per line: each line makes its own video…  (${shortcut} to generate)`
                : kind === "t2v"
                ? `A red fox trots through fresh snow at dawn, soft light, slow camera pan…  (${shortcut} to generate)`
                : `What happens next: the motion, the camera, the mood…  (${shortcut} to generate)`
            }
            value={values.prompt}
            onChange={(e) => update({ prompt: e.target.value })}
            aria-invalid={errors.prompt ? true : undefined}
            aria-describedby={errors.prompt ? "prompt-error" : undefined}
          />
          <FieldError id="prompt-error" message={errors.prompt} />
        </div>
        <BatchFields
          choice={choice}
          onChange={setChoice}
          prompts={choice.perLine ? Math.max(1, promptLines(values.prompt).length) : 1}
          seed={values.seed}
          error={errors.variations}
        />
        <NegativePromptField
          value={values.negativePrompt}
          defaultText={defaultNegative}
          onChange={(negativePrompt) => update({ negativePrompt })}
          error={errors.negativePrompt}
        />
      </section>

      <section className="card" aria-labelledby="video-heading">
        <h2 id="video-heading" className="card-title">
          Video
        </h2>
        {models.length > 1 || errors.model ? (
          <ModelPicker
            models={models}
            value={values.model}
            error={errors.model}
            onChange={(name) => {
              const next = models.find((m) => m.name === name);
              if (next) setValues((prev) => reconcile(switchModel(prev, next), next));
            }}
          />
        ) : (
          <p className="model-line">
            Model <strong>{model.name}</strong>
            {model.tiny && <span className="tag tag-warn">tiny test model · random weights</span>}
          </p>
        )}
        {kind === "i2v" && (
          <p className="hint" data-testid="image-mode">
            {model.imageToVideo === "clip-conditioning"
              ? "Image-to-video model: the picture conditions every frame through CLIP and the mask/latent channels."
              : "Text-to-video model: the picture is held as the first frame and the prompt drives the motion."}
          </p>
        )}
        {kind === "v2v" && (
          <p className="hint" data-testid="image-mode">
            The clip is noised by the strength below and denoised again: the prompt restyles it while its motion and layout carry over.
          </p>
        )}
        <SizePresets
          mode={kind === "t2v" ? "aspect" : "area"}
          sizes={d.sizes}
          width={values.width}
          height={values.height}
          onChange={(width, height) => update({ width, height })}
          error={errors.size}
          legend={sizeLegend}
          hint={sizeHint}
        />
        {model.recipe && <FastPreset recipe={model.recipe} values={values} onChange={update} />}
        <div className="field-pair">
          <DurationField frames={values.frames} fps={d.fps} maxFrames={d.maxFrames} onChange={(frames) => update({ frames })} error={errors.frames} />
          <SeedField value={values.seed} onChange={(seed) => update({ seed })} error={errors.seed} />
        </div>
      </section>

      <details className="card advanced" open={advancedOpen} onToggle={(e) => setAdvancedOpen((e.target as HTMLDetailsElement).open)}>
        <summary className="card-title">
          Advanced
          <span className="summary-values">
            {values.steps} steps · guidance {values.guidance} · shift {values.shift} · {values.solver}
          </span>
        </summary>
        <ParameterFields values={values} onChange={update} errors={errors} distilledSolver={model.recipe?.solver} />
      </details>

      <div className="submit-bar">
        <div className="submit-status" aria-live="polite">
          {errors.form && <p className="form-error">{errors.form}</p>}
          {created && "job" in created && (
            <p className="form-ok">
              Queued “{promptExcerpt(created.job.prompt, 40)}” ·{" "}
              <Link href={`/jobs/${created.job.id}`} data-testid="created-job-link">
                open job
              </Link>
            </p>
          )}
          {created && "batch" in created && (
            <p className="form-ok">
              Queued a batch of {created.batch.size} ·{" "}
              <Link href={batchHref(created.batch.id)} data-testid="created-batch-link">
                open the batch
              </Link>
            </p>
          )}
        </div>
        <button type="submit" className="button button-primary button-large" disabled={submitting} aria-keyshortcuts="Control+Enter Meta+Enter">
          {submitting ? "Queuing…" : "Generate"}
          <kbd className="kbd" aria-hidden="true">
            {shortcut.replace("+Enter", " ↵")}
          </kbd>
        </button>
      </div>
    </form>
  );
}
