/**
 * A Hugging Face Hub model repository as the studio reads it: the endpoint (HF_ENDPOINT, for mirrors) and
 * token (HF_TOKEN, for gated repos), the file list of one revision with each file's size and checksum
 * (`GET /api/models/<id>/tree/<rev>?recursive=true`, following the `Link: rel="next"` pages), and the hub's
 * answers turned into errors that say what to do. Downloading one file is download.ts.
 */
import { z } from "zod";

export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

export type Hub = {
  /** Base URL without a trailing slash (https://huggingface.co, or a mirror). */
  endpoint: string;
  /** Sent as `Authorization: Bearer` to the endpoint's origin only, never to the CDN it redirects to. */
  token?: string;
};

/** `owner/name` (or a bare name, as for a few old repos): the hub's own characters, no `..`. */
export const REPO_ID = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
/** Branch, tag or commit; slashes allowed (branch names), `..` not. */
export const REVISION = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;

export class HubError extends Error {
  constructor(
    message: string,
    /** The hub's HTTP status when it answered with one. */
    readonly status?: number,
  ) {
    super(message);
    this.name = "HubError";
  }
}

/** A file of one revision. `sha256` is the LFS object id (large files); small files carry only their git blob id. */
export type RepoFile = { path: string; size: number; sha256: string | null; gitOid: string };

const treeEntrySchema = z.object({
  type: z.string(),
  path: z.string(),
  oid: z.string(),
  size: z.number().int().nonnegative(),
  lfs: z.object({ oid: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().nonnegative() }).optional(),
});

export function authHeaders(hub: Hub, url: string): Record<string, string> {
  return hub.token && new URL(url).origin === new URL(hub.endpoint).origin ? { authorization: `Bearer ${hub.token}` } : {};
}

/** What a refusal from the hub means for this repo, in words that say what to do. */
export function hubRefusal(status: number, repo: string, revision: string, hub: Hub, what = `${repo}@${revision}`): HubError {
  if (status === 401) {
    return new HubError(
      hub.token ? `${repo} refused the token in HF_TOKEN (401): check that it is valid` : `${repo} needs a token (401): it is gated or private; set HF_TOKEN`,
      401,
    );
  }
  if (status === 403) return new HubError(`${repo}: access not granted to this token (403); accept the repo's terms on the hub first`, 403);
  if (status === 404) return new HubError(`${what} was not found on ${hub.endpoint} (404)`, 404);
  return new HubError(`${hub.endpoint} answered ${status} for ${what}`, status);
}

/** A file path from the tree that is safe to write under a folder: relative, no `..`, no backslashes. */
function safeRepoPath(p: string): boolean {
  return p.length > 0 && !p.startsWith("/") && !p.includes("\\") && p.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

function nextPage(link: string | null): string | undefined {
  return link?.split(",").find((part) => /rel="?next"?/.test(part))?.match(/<([^>]+)>/)?.[1];
}

export async function listRepoFiles(hub: Hub, repo: string, revision: string, signal?: AbortSignal): Promise<RepoFile[]> {
  let url: string | undefined = `${hub.endpoint}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`;
  const files: RepoFile[] = [];
  while (url) {
    let res: Response;
    try {
      res = await fetch(url, { headers: { accept: "application/json", ...authHeaders(hub, url) }, signal });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new HubError(`${hub.endpoint} did not answer (${(e as Error).message}); check HF_ENDPOINT and the network`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw hubRefusal(res.status, repo, revision, hub);
    }
    const parsed = z.array(treeEntrySchema).safeParse(await res.json().catch(() => null));
    if (!parsed.success) throw new HubError(`${hub.endpoint} sent a file list for ${repo}@${revision} that is not the hub's tree format`);
    for (const entry of parsed.data) {
      if (entry.type !== "file") continue;
      if (!safeRepoPath(entry.path)) throw new HubError(`${repo}@${revision} lists a file with an unsafe path: ${JSON.stringify(entry.path)}`);
      files.push({ path: entry.path, size: entry.lfs?.size ?? entry.size, sha256: entry.lfs?.oid ?? null, gitOid: entry.oid });
    }
    const next = nextPage(res.headers.get("link"));
    url = next ? new URL(next, url).href : undefined;
  }
  return files;
}

/** The download URL of one file: `<endpoint>/<repo>/resolve/<revision>/<path>`. */
export function resolveUrl(hub: Hub, repo: string, revision: string, file: string): string {
  return `${hub.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split("/").map(encodeURIComponent).join("/")}`;
}

/**
 * Whether a repo path matches an `--include` pattern. As huggingface_hub's allow_patterns (fnmatch), `*`
 * matches across folders: `*.safetensors` takes every safetensors file, `vae/*` one folder.
 */
export function matchesPattern(file: string, pattern: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${source}$`).test(file);
}

/** What a conversion reads (configs, safetensors weights, tokenizer files) when the user names no `--include`. */
export const DEFAULT_INCLUDE = ["*.json", "*.safetensors", "*.model"];

export function selectFiles(files: RepoFile[], include: string[]): RepoFile[] {
  return files.filter((f) => include.some((p) => matchesPattern(f.path, p)));
}
