/**
 * Downloading one file of a hub repo, checked and resumable. The hub's metadata says what the file must
 * be: the tree listing's size and LFS sha256 (repo.ts) and, on the resolve answer (a redirect to the CDN
 * for large files), `X-Linked-Size` and `X-Linked-Etag`; when they disagree nothing is downloaded. Bytes
 * go to `<dest>.part`; a connection that drops is resumed from the bytes already there with an HTTP
 * `Range` request; the finished file is hashed (sha256 for LFS files, the git blob sha1 for small ones)
 * and only renamed to `dest` when size and hash match.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { authHeaders, HubError, hubRefusal, resolveUrl, type Hub, type RepoFile } from "./repo.ts";

/** Tries per file: a cut connection resumes from where it stopped, up to this many times in a row without progress. */
const MAX_STALLS = 5;

export type DownloadTarget = { hub: Hub; repo: string; revision: string; file: RepoFile };

/** The hub's ETags are quoted (and weak ones prefixed W/): the bare value. */
function bareEtag(value: string | null): string | null {
  return value ? value.replace(/^W\//, "").replace(/^"|"$/g, "") : null;
}

/**
 * HEAD of the resolve URL, not following redirects: where the bytes are, and the hub's own statement of the
 * file's size and hash, checked against the tree listing.
 */
async function locate(t: DownloadTarget, signal?: AbortSignal): Promise<string> {
  const url = resolveUrl(t.hub, t.repo, t.revision, t.file.path);
  const res = await fetch(url, { method: "HEAD", redirect: "manual", headers: authHeaders(t.hub, url), signal });
  if (res.status >= 400) throw hubRefusal(res.status, t.repo, t.revision, t.hub, `${t.repo}@${t.revision}/${t.file.path}`);
  const linkedSize = res.headers.get("x-linked-size");
  if (linkedSize !== null && Number(linkedSize) !== t.file.size) {
    throw new HubError(`${t.file.path}: the hub lists ${t.file.size} bytes but its download says ${linkedSize}`);
  }
  const linkedEtag = bareEtag(res.headers.get("x-linked-etag"));
  if (t.file.sha256 && linkedEtag && linkedEtag !== t.file.sha256) {
    throw new HubError(`${t.file.path}: the hub lists sha256 ${t.file.sha256} but its download says ${linkedEtag}`);
  }
  const location = res.headers.get("location");
  return res.status >= 300 && res.status < 400 && location ? new URL(location, url).href : url;
}

/** Rejects with the signal's reason once it aborts: a pending body read must not outlive a cancel. */
function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

async function sizeOf(file: string): Promise<number> {
  return (await stat(file).catch(() => ({ size: 0 }))).size;
}

/** The hash the hub keeps for this file: sha256 of the content (LFS), or git's sha1 of "blob <size>\0" + content. */
async function hashMatches(file: string, f: RepoFile): Promise<{ ok: boolean; actual: string; expected: string }> {
  const hash = createHash(f.sha256 ? "sha256" : "sha1");
  if (!f.sha256) hash.update(`blob ${f.size}\0`);
  await pipeline(createReadStream(file), hash);
  const actual = hash.digest("hex");
  const expected = f.sha256 ?? f.gitOid;
  return { ok: actual === expected, actual, expected };
}

/**
 * Downloads `t.file` to `dest`, calling `onBytes` with each chunk's length (resumed bytes are reported once,
 * when found). Throws HubError when the hub refuses, the metadata disagree, or the bytes do not hash right
 * (the partial file is removed then, so a retry starts clean).
 */
export async function downloadFile(
  t: DownloadTarget,
  dest: string,
  opts: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<void> {
  const { signal, onBytes = () => {} } = opts;
  await mkdir(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  let have = await sizeOf(part);
  if (have > t.file.size) {
    await rm(part, { force: true });
    have = 0;
  }
  onBytes(have);
  if (t.file.size === 0) await writeFile(part, new Uint8Array(0));
  let stalls = 0;
  while (have < t.file.size) {
    signal?.throwIfAborted();
    const before = have;
    try {
      // Located again on every try: the CDN's signed URLs expire, and a resume may come much later.
      const source = await locate(t, signal);
      const res = await fetch(source, {
        headers: { ...authHeaders(t.hub, source), ...(have > 0 ? { range: `bytes=${have}-` } : {}) },
        signal,
      });
      if (res.status >= 400) {
        await res.body?.cancel();
        throw hubRefusal(res.status, t.repo, t.revision, t.hub, `${t.repo}@${t.revision}/${t.file.path}`);
      }
      // A server that ignores Range sends the whole file again: start over.
      const append = have > 0 && res.status === 206;
      if (!append) {
        onBytes(-have);
        have = 0;
      }
      if (!res.body) throw new HubError(`${t.file.path}: the download had no body`);
      const out = await open(part, append ? "a" : "w");
      const reader = res.body.getReader();
      const stop = signal ? whenAborted(signal) : undefined;
      stop?.catch(() => {});
      const read = () => (stop ? Promise.race([reader.read(), stop]) : reader.read());
      try {
        // Counted once written, so `have` is always what the file holds.
        for (let r = await read(); !r.done; r = await read()) {
          const chunk = r.value;
          await out.write(chunk);
          have += chunk.byteLength;
          onBytes(chunk.byteLength);
        }
      } finally {
        await out.close();
        if (signal?.aborted) await reader.cancel().catch(() => {});
      }
    } catch (e) {
      if (signal?.aborted || e instanceof HubError) throw e;
      // The connection dropped: what reached the disk is kept; resume from there.
      const kept = await sizeOf(part);
      onBytes(kept - have);
      have = kept;
      stalls = have > before ? 0 : stalls + 1;
      if (stalls >= MAX_STALLS) throw new HubError(`${t.file.path}: the download keeps failing (${(e as Error).message})`);
      await new Promise((r) => setTimeout(r, 100 * 2 ** stalls));
      continue;
    }
    have = await sizeOf(part);
  }
  if (have !== t.file.size) {
    await rm(part, { force: true });
    throw new HubError(`${t.file.path}: received ${have} bytes, the hub lists ${t.file.size}`);
  }
  const check = await hashMatches(part, t.file);
  if (!check.ok) {
    await rm(part, { force: true });
    const kind = t.file.sha256 ? "sha256" : "git sha1";
    throw new HubError(`${t.file.path}: the downloaded bytes do not match the hub's ${kind} (expected ${check.expected}, got ${check.actual})`);
  }
  await rename(part, dest);
}
