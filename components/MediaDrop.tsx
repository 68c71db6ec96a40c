"use client";
import { useEffect, useRef, useState, type DragEvent } from "react";
import { ApiError, uploadFile } from "@/lib/client/api";
import type { UploadView } from "@/lib/ui/api-types";
import { formatBytes } from "@/lib/ui/format";
import { FieldError } from "./FieldError";

const KINDS = {
  image: { accept: ["image/png", "image/jpeg", "image/webp"], label: "PNG, JPEG or WebP", noun: "image" },
  video: { accept: ["video/mp4", "video/webm", "video/quicktime"], label: "MP4, WebM or MOV · up to 10 s", noun: "video" },
} as const;

/** The API's body limit (POST /api/uploads answers 413 beyond it); checked here to fail before sending. */
const MAX_BYTES = 50 * 1024 * 1024;

type Props = {
  kind: "image" | "video";
  inputId: string;
  onUploaded: (upload: UploadView) => void;
  error?: string;
  /** Smaller, for replacing a file that is already chosen. */
  compact?: boolean;
};

/**
 * Choosing a file to start from: drop it here, pick it (the whole zone is a keyboard-focusable file
 * input), or paste an image from the clipboard anywhere on the page. The file goes to POST /api/uploads
 * with a progress bar; the server's verdict (size, format, duration) is shown here.
 */
export function MediaDrop({ kind, inputId, onUploaded, error, compact }: Props) {
  const spec = KINDS[kind];
  const [dragging, setDragging] = useState(false);
  const [progress, setProgress] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  const onUploadedRef = useRef(onUploaded);
  useEffect(() => {
    onUploadedRef.current = onUploaded;
  });

  const send = async (file: File) => {
    setProblem(null);
    if (!(spec.accept as readonly string[]).includes(file.type)) {
      setProblem(`${file.name || "That file"} is not a supported ${spec.noun} (${spec.label}).`);
      return;
    }
    if (file.size > MAX_BYTES) {
      setProblem(`${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(MAX_BYTES)}.`);
      return;
    }
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setProgress(0);
    try {
      const upload = await uploadFile(file, setProgress, controller.signal);
      onUploadedRef.current(upload);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === "aborted")) setProblem((e as Error).message);
    } finally {
      if (abort.current === controller) {
        abort.current = null;
        setProgress(null);
      }
    }
  };
  const sendRef = useRef(send);
  useEffect(() => {
    sendRef.current = send;
  });

  // Paste an image anywhere on the page (not while typing in a text field, where paste means text).
  useEffect(() => {
    if (kind !== "image") return;
    const onPaste = (e: ClipboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && (target as HTMLInputElement).type !== "file"))) return;
      const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith("image/"));
      if (file) {
        e.preventDefault();
        void sendRef.current(file);
      }
    };
    document.addEventListener("paste", onPaste);
    return () => document.removeEventListener("paste", onPaste);
  }, [kind]);

  useEffect(() => () => abort.current?.abort(), []);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file) void send(file);
  };

  const message = problem ?? error;
  const uploading = progress !== null;
  return (
    <div className="media-drop-wrap">
      <div
        className={`media-drop${compact ? " media-drop-compact" : ""}`}
        data-dragging={dragging || undefined}
        data-invalid={message ? true : undefined}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <input
          id={inputId}
          type="file"
          className="media-drop-input"
          accept={spec.accept.join(",")}
          disabled={uploading}
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = "";
            if (file) void send(file);
          }}
          aria-invalid={message ? true : undefined}
          aria-describedby={`${inputId}-help${message ? ` ${inputId}-error` : ""}`}
        />
        {!compact && (
          <svg className="media-drop-icon" viewBox="0 0 24 24" width="32" height="32" aria-hidden="true">
            <path
              d="M12 16V4m0 0l-4 4m4-4l4 4M4 16v2a2 2 0 002 2h12a2 2 0 002-2v-2"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.8"
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          </svg>
        )}
        <label htmlFor={inputId} className="media-drop-label">
          {uploading ? `Uploading… ${Math.round((progress ?? 0) * 100)}%` : compact ? `Replace ${spec.noun}` : `Drop an ${spec.noun} here or choose one`}
        </label>
        {!compact && (
          <p id={`${inputId}-help`} className="hint">
            {spec.label}
            {kind === "image" ? " · you can also paste one (Ctrl+V)" : ""}
          </p>
        )}
        {compact && (
          <span id={`${inputId}-help`} className="visually-hidden">
            {spec.label}
          </span>
        )}
        {uploading && (
          <div className="progress-track media-drop-progress" role="progressbar" aria-label="Upload" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round((progress ?? 0) * 100)}>
            <div className="progress-fill" style={{ width: `${(progress ?? 0) * 100}%` }} />
          </div>
        )}
      </div>
      <FieldError id={`${inputId}-error`} message={message ?? undefined} />
    </div>
  );
}
