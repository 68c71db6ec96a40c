/**
 * Installing from a Hugging Face repo against a local hub (tests/helpers/hub-server.ts): the files a
 * conversion needs are downloaded, checked against the hub's sizes and hashes, converted and renamed into
 * the models folder. A connection cut mid-file resumes with Range; a missing repo, a gated repo without
 * the token and a corrupted file fail with messages that say so and leave nothing in the models folder.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installModel } from "../../lib/model-library/install.ts";
import type { InstallProgress } from "../../lib/model-library/install-source.ts";
import { installedModels } from "../../lib/model-library/installed.ts";
import { readManifest } from "../../models/manifest.ts";
import { writeSafetensors } from "../../models/weights/safetensors.ts";
import { fixture, tempDir } from "../helpers/fixtures.ts";
import { startHubServer, type HubServer } from "../helpers/hub-server.ts";

const REPO = "wan-test/Wan2.1-Tiny-Diffusers";
const GATED = "wan-test/gated-tiny";
const TOKEN = "hf_test_token_0123456789";
const DIT = "transformer/diffusion_pytorch_model.safetensors";
const run = promisify(execFile);

let hub: HubServer;
const root = tempDir("hub-install");

beforeAll(async () => {
  hub = await startHubServer({ repos: [REPO, GATED], gated: { [GATED]: TOKEN } });
});
afterAll(async () => {
  await hub?.close();
  rmSync(root, { recursive: true, force: true });
});

function modelsDir(name: string): string {
  return path.join(root, name);
}

/** Everything in the models folder, dot folders included: after a failure it must be empty. */
const contents = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

describe("install from a hub repo", () => {
  it("resumes a download cut mid-file with a Range request, checks it and installs the model", async () => {
    const dir = modelsDir("resume");
    const dit = hub.files.find((f) => f.path === DIT)!;
    const cutAt = Math.floor(dit.bytes.length / 3);
    hub.cutNext(DIT, cutAt);
    hub.requests.length = 0;
    const progress: InstallProgress[] = [];
    const manifest = await installModel(
      { source: { repo: REPO, revision: "main" }, name: "tiny-hub", precision: "fp32" },
      { modelsDir: dir, hub: { endpoint: hub.url }, onProgress: (p) => progress.push(p) },
    );
    expect(manifest).toMatchObject({ name: "tiny-hub", variant: "t2v", source: `hf://${REPO}@main` });
    expect(Object.keys(manifest.components).sort()).toEqual(["textEncoder", "transformer", "vae"]);
    expect(manifest.components.textEncoder!.tokenizer).toBe("tokenizer");
    expect(contents(dir)).toEqual(["tiny-hub"]);
    expect(installedModels(dir)).toEqual(["tiny-hub"]);
    expect((await readManifest(path.join(dir, "tiny-hub"))).preview).not.toBeNull();

    const cdn = `/cdn/${dit.sha256}`;
    const dits = hub.requests.filter((r) => r.url.startsWith(cdn));
    expect(dits.map((r) => r.range)).toEqual([null, expect.stringMatching(/^bytes=\d+-$/)]);
    const resumedAt = Number(/\d+/.exec(dits[1].range!)![0]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(cutAt);
    // The resolve HEAD (the hub's statement of size and hash) came first.
    expect(hub.requests.some((r) => r.method === "HEAD" && r.url === `/${REPO}/resolve/main/${DIT}`)).toBe(true);
    // README.md is not something a conversion reads: the default selection skips it.
    expect(hub.requests.some((r) => r.url.includes("README.md"))).toBe(false);

    const download = progress.filter((p) => p.phase === "download");
    const total = hub.files.filter((f) => f.path !== "README.md").reduce((n, f) => n + f.bytes.length, 0);
    expect(download.at(-1)).toMatchObject({ done: total, total });
    expect(progress.at(-1)!.phase).toBe("convert");
  });

  it("takes only the files an --include pattern names", async () => {
    const dir = modelsDir("include");
    const attempt = installModel(
      { source: { repo: REPO, revision: "main", include: ["vae/*"] }, name: "vae-only", precision: "fp32" },
      { modelsDir: dir, hub: { endpoint: hub.url } },
    );
    // A VAE alone converts; it is a model folder with just that component.
    const manifest = await attempt;
    expect(Object.keys(manifest.components)).toEqual(["vae"]);
  });

  it("a repo that does not exist: a 404 naming it, nothing installed", async () => {
    const dir = modelsDir("missing");
    const attempt = installModel({ source: { repo: "nobody/nothing", revision: "main" }, name: "x", precision: "fp32" }, { modelsDir: dir, hub: { endpoint: hub.url } });
    await expect(attempt).rejects.toThrow(`nobody/nothing@main was not found on ${hub.url} (404)`);
    expect(contents(dir)).toEqual([]);
    const badRevision = installModel({ source: { repo: REPO, revision: "v9" }, name: "x", precision: "fp32" }, { modelsDir: dir, hub: { endpoint: hub.url } });
    await expect(badRevision).rejects.toThrow(`${REPO}@v9 was not found`);
  });

  it("a gated repo: 401 without HF_TOKEN, installed with it (Bearer to the hub only)", async () => {
    const dir = modelsDir("gated");
    const spec = { source: { repo: GATED, revision: "main" }, name: "gated", precision: "fp32" as const };
    await expect(installModel(spec, { modelsDir: dir, hub: { endpoint: hub.url } })).rejects.toThrow(`${GATED} needs a token (401): it is gated or private; set HF_TOKEN`);
    expect(contents(dir)).toEqual([]);
    await expect(installModel(spec, { modelsDir: dir, hub: { endpoint: hub.url, token: "hf_wrong" } })).rejects.toThrow("refused the token in HF_TOKEN");
    hub.requests.length = 0;
    await installModel(spec, { modelsDir: dir, hub: { endpoint: hub.url, token: TOKEN } });
    expect(installedModels(dir)).toEqual(["gated"]);
    expect(hub.requests.filter((r) => r.url.startsWith(`/api/models/${GATED}`)).map((r) => r.authorization)).toEqual([`Bearer ${TOKEN}`]);
  });

  it("a file whose bytes do not match the hub's sha256: refused, nothing installed", async () => {
    const dir = modelsDir("corrupt");
    const vae = hub.files.find((f) => f.path === "vae/diffusion_pytorch_model.safetensors")!;
    hub.corrupt(vae.path);
    try {
      const attempt = installModel({ source: { repo: REPO, revision: "main" }, name: "bad", precision: "fp32" }, { modelsDir: dir, hub: { endpoint: hub.url } });
      await expect(attempt).rejects.toThrow(new RegExp(`^${vae.path}: the downloaded bytes do not match the hub's sha256 \\(expected ${vae.sha256}, got [0-9a-f]{64}\\)$`));
    } finally {
      hub.corrupt(null);
    }
    expect(contents(dir)).toEqual([]);
  });

  it("a small (non-LFS) file is checked by its git blob id", async () => {
    const dir = modelsDir("corrupt-small");
    hub.corrupt("vae/config.json");
    try {
      const attempt = installModel({ source: { repo: REPO, revision: "main", include: ["vae/*"] }, name: "bad", precision: "fp32" }, { modelsDir: dir, hub: { endpoint: hub.url } });
      await expect(attempt).rejects.toThrow(/^vae\/config\.json: the downloaded bytes do not match the hub's git sha1/);
    } finally {
      hub.corrupt(null);
    }
    expect(contents(dir)).toEqual([]);
  });

  it("cancelled mid-download: nothing left behind", async () => {
    const dir = modelsDir("cancel");
    hub.throttle(200_000);
    const abort = new AbortController();
    try {
      const attempt = installModel(
        { source: { repo: REPO, revision: "main" }, name: "cancelled", precision: "fp32" },
        { modelsDir: dir, hub: { endpoint: hub.url }, signal: abort.signal, onProgress: (p) => p.done > 100_000 && abort.abort(new Error("cancelled")) },
      );
      await expect(attempt).rejects.toThrow("cancelled");
    } finally {
      hub.throttle(null);
    }
    expect(contents(dir)).toEqual([]);
  });

  it("refuses a name that is taken before downloading anything", async () => {
    const dir = modelsDir("resume");
    hub.requests.length = 0;
    await expect(installModel({ source: { repo: REPO, revision: "main" }, name: "tiny-hub", precision: "fp32" }, { modelsDir: dir, hub: { endpoint: hub.url } })).rejects.toThrow(
      "a model named tiny-hub is already installed",
    );
    expect(hub.requests).toEqual([]);
  });
});

describe("install from a path on the server", () => {
  it("converts a Diffusers folder into the models folder, recording the path as the source", async () => {
    const dir = modelsDir("path");
    hub.requests.length = 0;
    const manifest = await installModel({ source: { path: fixture() }, name: "from-folder", precision: "int8" }, { modelsDir: dir, hub: { endpoint: hub.url } });
    expect(manifest).toMatchObject({ name: "from-folder", source: fixture() });
    expect(manifest.components.transformer!.precision).toBe("int8");
    expect(contents(dir)).toEqual(["from-folder"]);
    expect(hub.requests).toEqual([]);
  });

  it("merges the LoRAs it is given into the DiT (the converter's --lora)", async () => {
    const dir = modelsDir("path-lora");
    const lora = path.join(root, "tiny-lora.safetensors");
    // A rank-2 PEFT pair on one attention projection of the 64-wide fixture DiT.
    await writeSafetensors(lora, [
      { name: "blocks.0.self_attn.q.lora_A.weight", dtype: "float32", shape: [2, 64], data: new Float32Array(128).fill(0.01) },
      { name: "blocks.0.self_attn.q.lora_B.weight", dtype: "float32", shape: [64, 2], data: new Float32Array(128).fill(0.02) },
    ]);
    const manifest = await installModel({ source: { path: fixture() }, name: "with-lora", precision: "fp32", loras: [{ file: lora, strength: 0.5 }] }, { modelsDir: dir, hub: { endpoint: hub.url } });
    expect(manifest.components.transformer!.loras).toMatchObject([{ strength: 0.5 }]);
  });

  it("a file that is not a Wan 2.1 component: the converter's message, nothing installed", async () => {
    const dir = modelsDir("path-bad");
    await expect(installModel({ source: { path: fixture("goldens.safetensors") }, name: "bad", precision: "fp32" }, { modelsDir: dir, hub: { endpoint: hub.url } })).rejects.toThrow(
      /goldens\.safetensors/,
    );
    expect(contents(dir)).toEqual([]);
  });
});

describe("npm run models -- pull", () => {
  const cli = (args: string[], env: Record<string, string>) =>
    run(process.execPath, ["--import", "tsx", "cli/models.ts", "pull", ...args], { env: { ...process.env, ...env } });

  it("installs from HF_ENDPOINT with the precision asked for, drawing progress", async () => {
    const dir = modelsDir("cli");
    const { stdout, stderr } = await cli([REPO, "--dtype", "fp16", "--name", "cli-tiny"], { HF_ENDPOINT: hub.url, MODELS_DIR: dir });
    expect(stdout).toContain(`installed cli-tiny → ${path.join(dir, "cli-tiny")} (t2v, fp16, from hf://${REPO}@main)`);
    // Not a terminal: a line every 10 % of each phase.
    expect(stderr).toMatch(/^100% download [\d.]+ MB \/ [\d.]+ MB/m);
    expect(stderr).toMatch(/^100% convert /m);
    const manifest = await readManifest(path.join(dir, "cli-tiny"));
    expect(manifest.components.transformer!.precision).toBe("fp16");
    expect(contents(dir)).toEqual(["cli-tiny"]);
    const list = await run(process.execPath, ["--import", "tsx", "cli/models.ts", "list"], { env: { ...process.env, MODELS_DIR: dir } });
    expect(list.stdout).toMatch(new RegExp(`^cli-tiny \\*\tt2v\tfp16\t[\\d.]+ MB\thf://${REPO}@main\t\\d{4}-\\d\\d-\\d\\d$`, "m"));
  });

  it("a gated repo: the message says to set HF_TOKEN; with it, installed under the repo's name", async () => {
    const dir = modelsDir("cli-gated");
    const refused = cli([GATED], { HF_ENDPOINT: hub.url, MODELS_DIR: dir, HF_TOKEN: "" });
    await expect(refused).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining(`error: ${GATED} needs a token (401)`) });
    await cli([GATED, "--include", "vae/*"], { HF_ENDPOINT: hub.url, MODELS_DIR: dir, HF_TOKEN: TOKEN });
    expect(installedModels(dir)).toEqual(["gated-tiny"]);
  });

  it("names a bad argument", async () => {
    await expect(cli(["not a repo"], { HF_ENDPOINT: hub.url })).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("source.repo must be a Hugging Face repo id") });
  });
});
