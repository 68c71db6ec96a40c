/**
 * What an install is (a hub repo or a path, a name, a precision) and how it reports progress: the
 * vocabulary the web server, the queue and the worker share, without the converter and engine that only
 * the worker loads (lib/model-library/install.ts).
 */
import path from "node:path";
import type { LoraSpec } from "../../models/convert/lora.ts";
import type { Precision } from "../../models/nn.ts";

export type HubSource = { repo: string; revision: string; include?: string[] };
export type PathSource = { path: string };
export type InstallSource = HubSource | PathSource;

/** `loras`: merged into the DiT at conversion. */
export type InstallSpec = { source: InstallSource; name: string; precision: Precision; loras?: LoraSpec[] };

export type InstallPhase = "download" | "convert";

/** Where an install stands: bytes of the current phase, the rate over the last seconds, and the time left at that rate. */
export type InstallProgress = {
  phase: InstallPhase;
  done: number;
  total: number;
  rateBps: number | null;
  etaS: number | null;
  /** The file being downloaded, or the component being converted. */
  item: string | null;
};

export function isHubSource(s: InstallSource): s is HubSource {
  return "repo" in s;
}

/** The model name an install gets when the user gives none: the repo's (or file's) name, in model-name characters. */
export function defaultInstallName(source: InstallSource): string {
  const base = isHubSource(source) ? source.repo.split("/").at(-1)! : path.basename(source.path).replace(/\.safetensors$/i, "");
  return base.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[^a-z0-9]+/, "").slice(0, 100) || "model";
}

/** What the manifest records as the model's origin. */
export function sourceLabel(source: InstallSource): string {
  return isHubSource(source) ? `hf://${source.repo}@${source.revision}` : path.resolve(source.path);
}

