/**
 * Installing a model: from a Hugging Face repo (the files a conversion reads, or the user's `include`
 * patterns, downloaded and checked by lib/hub) or from a folder or file on this machine, converted with the
 * precision asked for (models/convert), its preview map fitted, and only then renamed into MODELS_DIR.
 * Everything happens in a work folder `MODELS_DIR/.install-…` (a dot folder is never listed as a model)
 * that is removed whatever the outcome, so a failed or cancelled install leaves nothing behind and a
 * model folder, once it exists under its name, is always complete.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { convertModel } from "../../models/convert/convert.ts";
import { writeManifest, type Manifest } from "../../models/manifest.ts";
import { StudioError } from "../errors.ts";
import { downloadFile } from "../hub/download.ts";
import { DEFAULT_INCLUDE, HubError, listRepoFiles, selectFiles, type Hub } from "../hub/repo.ts";
import { isHubSource, sourceLabel, type HubSource, type InstallPhase, type InstallProgress, type InstallSpec } from "./install-source.ts";
import { fitModelPreview } from "./preview-map.ts";

export type InstallEnv = {
  modelsDir: string;
  hub: Hub;
  signal?: AbortSignal;
  onProgress?: (p: InstallProgress) => void;
  log?: (line: string) => void;
};

const WORK_PREFIX = ".install-";

/** The model name a work folder belongs to, or null when `entry` is not one. */
export function workFolderModel(entry: string): string | null {
  return entry.startsWith(WORK_PREFIX) ? (/^(.+)-[0-9a-f]{8}$/.exec(entry.slice(WORK_PREFIX.length))?.[1] ?? null) : null;
}

/**
 * Removes work folders that no running install owns: a worker killed mid-install (kill -9, power cut) cannot
 * clean up after itself, so the next worker to start does.
 */
export async function removeAbandonedWork(modelsDir: string, runningNames: Set<string>): Promise<string[]> {
  if (!existsSync(modelsDir)) return [];
  const removed: string[] = [];
  for (const entry of await readdir(modelsDir)) {
    const name = workFolderModel(entry);
    if (name === null || runningNames.has(name)) continue;
    await rm(path.join(modelsDir, entry), { recursive: true, force: true });
    removed.push(entry);
  }
  return removed;
}

/** How often progress is reported at most (every chunk would flood the event channel). */
const REPORT_MS = 250;
/** The rate is measured over this window, so a stall shows within seconds. */
const RATE_WINDOW_MS = 3000;

/** Bytes per second over a sliding window, and the time left at that rate. */
class RateMeter {
  private samples: { at: number; done: number }[] = [];

  sample(done: number, total: number, now = Date.now()): { rateBps: number | null; etaS: number | null } {
    this.samples.push({ at: now, done });
    while (this.samples.length > 2 && now - this.samples[0].at > RATE_WINDOW_MS) this.samples.shift();
    const first = this.samples[0];
    const seconds = (now - first.at) / 1000;
    if (seconds < 0.2) return { rateBps: null, etaS: null };
    const rateBps = (done - first.done) / seconds;
    return { rateBps, etaS: rateBps > 0 ? Math.max(0, (total - done) / rateBps) : null };
  }
}

/** Reports progress at most every REPORT_MS (and always at a phase's end), with rate and ETA. */
function progressReporter(phase: InstallPhase, onProgress: (p: InstallProgress) => void) {
  const meter = new RateMeter();
  let last = 0;
  return (done: number, total: number, item: string | null, force = false) => {
    const now = Date.now();
    const speed = meter.sample(done, total, now);
    if (!force && now - last < REPORT_MS) return;
    last = now;
    onProgress({ phase, done, total, item, ...speed });
  };
}

async function downloadRepo(source: HubSource, into: string, env: InstallEnv): Promise<void> {
  const log = env.log ?? (() => {});
  const all = await listRepoFiles(env.hub, source.repo, source.revision, env.signal);
  const include = source.include?.length ? source.include : DEFAULT_INCLUDE;
  const files = selectFiles(all, include);
  if (!files.length) throw new HubError(`${source.repo}@${source.revision} has no files matching ${include.join(", ")}`);
  const total = files.reduce((n, f) => n + f.size, 0);
  log(`${source.repo}@${source.revision}: ${files.length} files, ${total} bytes`);
  const report = progressReporter("download", env.onProgress ?? (() => {}));
  let done = 0;
  for (const file of files) {
    await downloadFile({ hub: env.hub, repo: source.repo, revision: source.revision, file }, path.join(into, file.path), {
      signal: env.signal,
      onBytes: (n) => {
        done += n;
        report(done, total, file.path);
      },
    });
  }
  report(done, total, null, true);
}

/**
 * Runs one install to the end; returns the installed model's manifest. Throws StudioError("conflict") when
 * the name is taken, HubError for the hub's refusals and bad downloads, the converter's error for files that
 * are not a Wan 2.1 model, and the signal's reason when cancelled.
 */
export async function installModel(spec: InstallSpec, env: InstallEnv): Promise<Manifest> {
  const log = env.log ?? (() => {});
  const target = path.join(env.modelsDir, spec.name);
  const taken = () => new StudioError("conflict", `a model named ${spec.name} is already installed`, "name");
  if (existsSync(target)) throw taken();
  const work = path.join(env.modelsDir, `${WORK_PREFIX}${spec.name}-${randomUUID().slice(0, 8)}`);
  const converted = path.join(work, "model");
  await mkdir(work, { recursive: true });
  try {
    let from: string;
    if (isHubSource(spec.source)) {
      from = path.join(work, "download");
      await downloadRepo(spec.source, from, env);
    } else {
      from = path.resolve(spec.source.path);
    }
    env.signal?.throwIfAborted();
    const report = progressReporter("convert", env.onProgress ?? (() => {}));
    let written = { done: 0, total: 0 };
    const convertedManifest = await convertModel({
      source: from,
      outDir: converted,
      precision: spec.precision,
      loras: spec.loras,
      name: spec.name,
      log,
      onProgress: (e) => {
        // The converter has no cancel of its own: stopping at its next progress report is soon enough.
        env.signal?.throwIfAborted();
        written = e;
        report(e.done, e.total, e.component);
      },
    });
    report(written.done, written.total, null, true);
    env.signal?.throwIfAborted();
    await writeManifest(converted, { ...convertedManifest, source: sourceLabel(spec.source) });
    const manifest = await fitModelPreview(converted, log);
    env.signal?.throwIfAborted();
    if (existsSync(target)) throw taken();
    await rename(converted, target).catch((e: NodeJS.ErrnoException) => {
      throw e.code === "ENOTEMPTY" || e.code === "EEXIST" ? taken() : e;
    });
    log(`installed ${spec.name} (${manifest.variant}, ${spec.precision})`);
    return manifest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
