/**
 * The browser's client for the studio API: JSON in and out, the contract's error body turned into an
 * ApiError that names the field, a 401 sent to the login page, and uploads with progress (fetch cannot
 * report upload progress, XMLHttpRequest can).
 */
import type { ApiErrorBody, BatchView, InstallView, JobPage, JobPriority, JobView, ModelView, QueueState, UploadView, WebhookDeliveries, WorkerView } from "../ui/api-types.ts";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * Sends the browser to the login page, coming back here afterwards. A full page load on purpose: the
 * session expired, so nothing rendered with it should survive.
 */
export function goToLogin(): void {
  if (typeof window === "undefined" || window.location.pathname === "/login") return;
  const next = window.location.pathname + window.location.search;
  window.location.assign(new URL(`/login?next=${encodeURIComponent(next)}`, window.location.origin).href);
}

function errorFrom(status: number, statusText: string, body: unknown): ApiError {
  const e = (body as Partial<ApiErrorBody> | null)?.error;
  if (e && typeof e.message === "string") return new ApiError(status, e.code ?? `http_${status}`, e.message, e.field);
  return new ApiError(status, `http_${status}`, status === 0 ? "the studio did not answer" : `${status} ${statusText}`.trim());
}

export async function apiFetch<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, headers, ...rest } = init;
  let res: Response;
  try {
    res = await fetch(path, {
      ...rest,
      credentials: "same-origin",
      headers: { accept: "application/json", ...(json !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      body: json !== undefined ? JSON.stringify(json) : rest.body,
    });
  } catch {
    throw new ApiError(0, "network", "the studio did not answer (is it running?)");
  }
  if (res.status === 401) goToLogin();
  if (res.status === 204) return undefined as T;
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) throw errorFrom(res.status, res.statusText, body);
  return body as T;
}

export type JobFilters = { status?: string; kind?: string; continued?: "true" | "false"; q?: string; batch?: string; cursor?: string | null; limit?: number };

export function jobsQuery(filters: JobFilters): string {
  const p = new URLSearchParams();
  if (filters.status) p.set("status", filters.status);
  if (filters.kind) p.set("kind", filters.kind);
  if (filters.continued) p.set("continued", filters.continued);
  if (filters.q) p.set("q", filters.q);
  if (filters.batch) p.set("batch", filters.batch);
  if (filters.cursor) p.set("cursor", filters.cursor);
  if (filters.limit) p.set("limit", String(filters.limit));
  const s = p.toString();
  return s ? `?${s}` : "";
}

export const api = {
  models: () => apiFetch<ModelView[]>("/api/models"),
  updateModel: (name: string, body: { name?: string; default?: true }) =>
    apiFetch<ModelView>(`/api/models/${encodeURIComponent(name)}`, { method: "PATCH", json: body }),
  deleteModel: (name: string) => apiFetch<void>(`/api/models/${encodeURIComponent(name)}`, { method: "DELETE" }),
  installs: () => apiFetch<{ installs: InstallView[] }>("/api/model-installs"),
  installModel: (body: Record<string, unknown>) => apiFetch<InstallView>("/api/model-installs", { method: "POST", json: body }),
  cancelInstall: (id: string) => apiFetch<InstallView>(`/api/model-installs/${encodeURIComponent(id)}/cancel`, { method: "POST" }),
  listJobs: (filters: JobFilters = {}) => apiFetch<JobPage>(`/api/jobs${jobsQuery(filters)}`),
  getJob: (id: string) => apiFetch<JobView>(`/api/jobs/${encodeURIComponent(id)}`),
  createJob: (body: Record<string, unknown>) => apiFetch<JobView>("/api/jobs", { method: "POST", json: body }),
  createBatch: (body: Record<string, unknown>) => apiFetch<BatchView>("/api/batches", { method: "POST", json: body }),
  cancelBatch: (id: string) => apiFetch<BatchView>(`/api/batches/${encodeURIComponent(id)}/cancel`, { method: "POST" }),
  deleteBatch: (id: string) => apiFetch<void>(`/api/batches/${encodeURIComponent(id)}`, { method: "DELETE" }),
  cancelJob: (id: string) => apiFetch<JobView>(`/api/jobs/${encodeURIComponent(id)}/cancel`, { method: "POST" }),
  continueJob: (id: string, body: Record<string, unknown> = {}) =>
    apiFetch<JobView>(`/api/jobs/${encodeURIComponent(id)}/continue`, { method: "POST", json: body }),
  retryJob: (id: string) => apiFetch<JobView>(`/api/jobs/${encodeURIComponent(id)}/retry`, { method: "POST" }),
  deleteJob: (id: string) => apiFetch<void>(`/api/jobs/${encodeURIComponent(id)}`, { method: "DELETE" }),
  getUpload: (id: string) => apiFetch<UploadView>(`/api/uploads/${encodeURIComponent(id)}`),
  queue: () => apiFetch<QueueState>("/api/queue"),
  workers: () => apiFetch<{ workers: WorkerView[] }>("/api/workers"),
  pauseQueue: () => apiFetch<QueueState>("/api/queue/pause", { method: "POST" }),
  resumeQueue: () => apiFetch<QueueState>("/api/queue/resume", { method: "POST" }),
  moveJob: (id: string, direction: "up" | "down") =>
    apiFetch<QueueState>(`/api/jobs/${encodeURIComponent(id)}/move`, { method: "POST", json: { direction } }),
  setPriority: (id: string, priority: JobPriority) =>
    apiFetch<QueueState>(`/api/jobs/${encodeURIComponent(id)}/priority`, { method: "POST", json: { priority } }),
  webhooks: (id: string) => apiFetch<WebhookDeliveries>(`/api/jobs/${encodeURIComponent(id)}/webhooks`),
  login: (token: string) => apiFetch<unknown>("/api/login", { method: "POST", json: { token } }),
};

/** POST /api/uploads with the file as multipart field "file"; `onProgress` gets 0…1 while it sends. */
export function uploadFile(file: File, onProgress?: (fraction: number) => void, signal?: AbortSignal): Promise<UploadView> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/uploads");
    xhr.responseType = "json";
    xhr.setRequestHeader("accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress?.(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status === 401) goToLogin();
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response as UploadView);
      else reject(errorFrom(xhr.status, xhr.statusText, xhr.response));
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "the upload did not reach the studio"));
    xhr.onabort = () => reject(new ApiError(0, "aborted", "upload canceled"));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}
