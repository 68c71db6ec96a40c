/**
 * A local Hugging Face Hub for the install tests (node:http on 127.0.0.1), in the hub's URL shape: the file
 * tree `/api/models/<id>/tree/<rev>?recursive=true` (LFS entries with `lfs.oid`/`lfs.size`), the resolve
 * URL `/<id>/resolve/<rev>/<file>` answering large files with a 302 to a CDN-like path plus `X-Linked-Etag`
 * and `X-Linked-Size`, small files served directly with their git blob id as ETag, and byte ranges (206).
 * The repo is the tiny Diffusers fixture (tests/fixtures/wan-tiny) plus a tokenizer.json from
 * lib/engine/text/tiny-tokenizer.ts. Faults on demand: a gated repo (401 without the token), a connection
 * cut after N bytes, bytes that differ from the listed hash, and a rate limit so progress can be watched.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { writeTinyTokenizer } from "../../lib/model-library/tiny-tokenizer.ts";
import { fixture } from "./fixtures.ts";

/** The fixture repo's folders and files (the Diffusers layout; no goldens, no official files). */
const REPO_PARTS = ["model_index.json", "transformer", "vae", "text_encoder", "scheduler"];

type RepoFileData = { path: string; bytes: Buffer; sha256: string; gitOid: string; lfs: boolean };

export type HubRequest = { method: string; url: string; range: string | null; authorization: string | null };

export type HubServerOptions = {
  /** Repo ids served (all with the same fixture files). */
  repos: string[];
  /** Repos that answer 401 unless `Authorization: Bearer <token>` is sent. */
  gated?: Record<string, string>;
};

export type HubServer = {
  url: string;
  requests: HubRequest[];
  files: RepoFileData[];
  /** The next download of `file` (any repo) closes the connection after `bytes` bytes. */
  cutNext(file: string, bytes: number): void;
  /** Downloads of `file` send these bytes instead (same length), while the tree keeps the true hash. */
  corrupt(file: string | null): void;
  /** Caps every download at this many bytes per second (null: no cap). */
  throttle(bytesPerSecond: number | null): void;
  close(): Promise<void>;
};

function walk(root: string, rel: string, out: string[]): void {
  const abs = path.join(root, rel);
  if (statSync(abs).isDirectory()) for (const e of readdirSync(abs).sort()) walk(root, path.posix.join(rel, e), out);
  else out.push(rel);
}

async function repoFiles(): Promise<RepoFileData[]> {
  const tokenizerDir = mkdtempSync(path.join(os.tmpdir(), "hub-tokenizer-"));
  const vocab = JSON.parse(readFileSync(fixture("text_encoder", "config.json"), "utf8")).vocab_size as number;
  await writeTinyTokenizer(tokenizerDir, { vocabSize: vocab });
  const entries: { path: string; bytes: Buffer }[] = [{ path: "tokenizer/tokenizer.json", bytes: readFileSync(path.join(tokenizerDir, "tokenizer.json")) }];
  rmSync(tokenizerDir, { recursive: true, force: true });
  const names: string[] = [];
  for (const part of REPO_PARTS) walk(fixture(), part, names);
  for (const name of names) entries.push({ path: name, bytes: readFileSync(fixture(name)) });
  // A file the default include leaves out, as real repos have.
  entries.push({ path: "README.md", bytes: Buffer.from("# wan tiny\n") });
  return entries
    .sort((a, b) => a.path.localeCompare(b.path))
    .map((e) => ({
      ...e,
      sha256: createHash("sha256").update(e.bytes).digest("hex"),
      gitOid: createHash("sha1").update(`blob ${e.bytes.length}\0`).update(e.bytes).digest("hex"),
      lfs: e.path.endsWith(".safetensors"),
    }));
}

function treeEntries(files: RepoFileData[], recursive: boolean): unknown[] {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  const entries = [
    ...[...dirs].map((d) => ({ type: "directory", oid: createHash("sha1").update(d).digest("hex"), size: 0, path: d })),
    ...files.map((f) => ({
      type: "file",
      oid: f.lfs ? createHash("sha1").update(`pointer ${f.sha256}`).digest("hex") : f.gitOid,
      size: f.bytes.length,
      path: f.path,
      ...(f.lfs ? { lfs: { oid: f.sha256, size: f.bytes.length, pointerSize: 134 } } : {}),
    })),
  ];
  return recursive ? entries : entries.filter((e) => !e.path.includes("/"));
}

export async function startHubServer(opts: HubServerOptions): Promise<HubServer> {
  const files = await repoFiles();
  const requests: HubRequest[] = [];
  const cuts = new Map<string, number>();
  let corrupted: string | null = null;
  let rate: number | null = null;

  const authorized = (repo: string, req: http.IncomingMessage) => {
    const token = opts.gated?.[repo];
    return !token || req.headers.authorization === `Bearer ${token}`;
  };

  /** Sends `f` honouring Range, the cut and the throttle. */
  const sendFile = (req: http.IncomingMessage, res: http.ServerResponse, f: RepoFileData, etag: string) => {
    let body = f.bytes;
    if (corrupted === f.path) {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    const size = body.length;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    let start = 0;
    let end = size - 1;
    if (m) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      if (start >= size) {
        res.writeHead(416, { "content-range": `bytes */${size}` }).end();
        return;
      }
    }
    const headers: http.OutgoingHttpHeaders = { etag: `"${etag}"`, "accept-ranges": "bytes", "content-length": end - start + 1, "content-type": "application/octet-stream" };
    if (m) headers["content-range"] = `bytes ${start}-${end}/${size}`;
    res.writeHead(m ? 206 : 200, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const cut = cuts.get(f.path);
    if (cut !== undefined) cuts.delete(f.path);
    const slice = body.subarray(start, end + 1);
    const limit = cut === undefined ? slice.length : Math.min(cut, slice.length);
    let sent = 0;
    const chunk = rate ? Math.max(1024, Math.floor(rate / 20)) : 64 * 1024;
    const pump = () => {
      if (res.destroyed) return;
      if (sent >= limit) {
        // The cut: the socket closes before the promised length, as a dropped connection does.
        if (cut !== undefined) res.socket?.destroy();
        else res.end();
        return;
      }
      const piece = slice.subarray(sent, Math.min(limit, sent + chunk));
      sent += piece.length;
      const more = res.write(piece);
      const next = () => (rate ? setTimeout(pump, (piece.length / rate) * 1000) : setImmediate(pump));
      if (more) next();
      else res.once("drain", next);
    };
    pump();
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://hub");
    requests.push({ method: req.method ?? "GET", url: url.pathname + url.search, range: req.headers.range ?? null, authorization: req.headers.authorization ?? null });
    const notFound = (message: string) => {
      res.writeHead(404, { "content-type": "application/json", "x-error-code": "RepoNotFound" }).end(JSON.stringify({ error: message }));
    };
    const unauthorized = () => {
      res.writeHead(401, { "content-type": "application/json", "x-error-code": "GatedRepo" }).end(JSON.stringify({ error: "Access to this repo is restricted" }));
    };

    const tree = /^\/api\/models\/(.+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(url.pathname);
    if (tree && req.method === "GET") {
      const [, repo, rev] = tree;
      if (!opts.repos.includes(repo)) return notFound("Repository not found");
      if (!authorized(repo, req)) return unauthorized();
      if (decodeURIComponent(rev) !== "main") return notFound("Revision not found");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(treeEntries(files, url.searchParams.get("recursive") === "true")));
      return;
    }
    const resolve = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (resolve && (req.method === "GET" || req.method === "HEAD")) {
      const [, repo, rev, file] = resolve;
      if (!opts.repos.includes(repo)) return notFound("Repository not found");
      if (!authorized(repo, req)) return unauthorized();
      const f = files.find((x) => x.path === decodeURIComponent(file));
      if (decodeURIComponent(rev) !== "main" || !f) return notFound("Entry not found");
      if (!f.lfs) return sendFile(req, res, f, f.gitOid);
      res
        .writeHead(302, {
          location: `/cdn/${f.sha256}?repo=${encodeURIComponent(repo)}`,
          "x-linked-etag": `"${f.sha256}"`,
          "x-linked-size": String(f.bytes.length),
          etag: `"${f.gitOid}"`,
        })
        .end();
      return;
    }
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    if (cdn && (req.method === "GET" || req.method === "HEAD")) {
      const f = files.find((x) => x.sha256 === cdn[1] && x.lfs);
      if (!f) return notFound("Object not found");
      return sendFile(req, res, f, f.sha256);
    }
    notFound("Not found");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    files,
    cutNext: (file, bytes) => void cuts.set(file, bytes),
    corrupt: (file) => void (corrupted = file),
    throttle: (bps) => void (rate = bps),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
