/**
 * The models API through a real studio (`next start` + a real worker process, workers/generate.ts) with
 * HF_ENDPOINT pointing at a local hub (tests/helpers/hub-server.ts): an install queued over HTTP runs in
 * the worker, its progress arrives as `install` events on the SSE stream, and the installed model then
 * generates a video on the tiny settings. Plus failures and cancels that leave nothing in the models
 * folder, the default, rename, and delete refused while a job uses the model.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { JobJson, ModelJson } from "../../lib/jobs/schemas.ts";
import type { InstallJson } from "../../lib/model-library/install-schemas.ts";
import { createRedis } from "../../lib/redis/connection.ts";
import { probeVideo } from "../../lib/video/probe.ts";
import { readManifest } from "../../models/manifest.ts";
import { PRECISIONS } from "../../models/nn.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { startHubServer, type HubServer } from "../helpers/hub-server.ts";
import { redisDbUrl, tinyRequest, waitFor } from "../helpers/jobs-context.ts";
import { installTinyModel, TINY_T2V } from "../helpers/models.ts";
import { startStudioProcesses, type StudioProcesses } from "../helpers/studio.ts";
import { call, readEvents, type SseEvent } from "./helpers.ts";

const REPO = "wan-test/Wan2.1-Tiny-Diffusers";
const INSTALLED = "hub-tiny";

let hub: HubServer;
let studio: StudioProcesses;
let base: string;
const dataDir = tempDir("studio-models-api");
const modelsDir = path.join(dataDir, "models");
const scratch = tempDir("models-api-files");

beforeAll(async () => {
  hub = await startHubServer({ repos: [REPO] });
  await installTinyModel(modelsDir);
  // What a worker killed mid-install leaves: the next worker to start removes it.
  mkdirSync(path.join(modelsDir, ".install-abandoned-0123abcd", "download"), { recursive: true });
  const redisUrl = redisDbUrl(inject("redisUrl"), 2);
  const redis = createRedis(redisUrl, "models-api-setup");
  await redis.flushdb();
  redis.disconnect();
  studio = await startStudioProcesses({ dataDir, redisUrl, workers: 1, env: { EXECUTION_PROVIDERS: "cpu", HF_ENDPOINT: hub.url, STUDIO_LOCK_MS: "3000" } });
  base = studio.url;
});
afterAll(async () => {
  await studio?.stop();
  await hub?.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

const models = async () => (await call<ModelJson[]>(base, "/api/models")).body;
/** Everything in the models folder that is not a finished model or the default choice: work folders must not stay. */
const leftovers = () => readdirSync(modelsDir).filter((f) => f.startsWith(".") && f !== ".default-model");

async function postInstall(body: unknown): Promise<InstallJson> {
  const res = await call<InstallJson>(base, "/api/model-installs", { method: "POST", json: body });
  if (res.status !== 202) throw new Error(`POST /api/model-installs answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

const installEvents = (events: SseEvent[], id: string) =>
  events.filter((e) => e.event === "install" && (e.data as { install: InstallJson }).install.id === id).map((e) => (e.data as { install: InstallJson }).install);

/** Follows the install stream from before the install is posted until it ends. */
async function followInstall(body: unknown, timeoutMs = 120_000): Promise<{ install: InstallJson; seen: InstallJson[] }> {
  let install: InstallJson | undefined;
  const { events } = await readEvents(
    `${base}/api/model-installs/events`,
    (ev) => !!install && installEvents(ev, install.id).some((i) => ["succeeded", "failed", "canceled"].includes(i.status)),
    { timeoutMs, onOpen: async () => void (install = await postInstall(body)) },
  );
  return { install: install!, seen: installEvents(events, install!.id) };
}

describe("installing through the API and a real worker", () => {
  it("downloads, converts and installs with live progress; the model then generates a video", async () => {
    const { install, seen } = await followInstall({ source: { repo: REPO }, name: INSTALLED, precision: "fp32" });
    expect(install).toMatchObject({ name: INSTALLED, status: "queued", precision: "fp32", source: { repo: REPO, revision: "main" } });
    expect(seen[0].status).toBe("queued");
    expect(seen.at(-1)).toMatchObject({ status: "succeeded", error: null });
    const phases = seen.filter((i) => i.progress).map((i) => i.progress!.phase);
    expect(phases).toContain("download");
    expect(phases.at(-1)).toBe("convert");
    // Phases come in order: every download report before the first conversion report.
    expect(phases.lastIndexOf("download")).toBeLessThan(phases.indexOf("convert"));
    const lastDownload = seen.filter((i) => i.progress?.phase === "download").at(-1)!.progress!;
    expect(lastDownload.done).toBe(lastDownload.total);

    const listed = (await models()).find((m) => m.name === INSTALLED);
    expect(listed).toMatchObject({ variant: "t2v", precision: "fp32", source: `hf://${REPO}@main`, tiny: false });
    expect(listed!.sizeBytes).toBeGreaterThan(1_000_000);
    expect(Date.parse(listed!.installedAt)).toBeGreaterThan(Date.now() - 10 * 60_000);
    expect(leftovers()).toEqual([]);
    expect(studio.lines).toContain("[worker1] removed .install-abandoned-0123abcd: the work folder of an install that did not finish");
    expect((await call<InstallJson>(base, `/api/model-installs/${install.id}`)).body.status).toBe("succeeded");

    const job = (await call<JobJson>(base, "/api/jobs", { method: "POST", json: tinyRequest({ model: INSTALLED, seed: 5 }) })).body;
    const done = await waitFor(`job ${job.id}`, async () => {
      const j = (await call<JobJson>(base, `/api/jobs/${job.id}`)).body;
      if (j.status === "failed") throw new Error(j.error ?? "failed");
      return j.status === "succeeded" ? j : undefined;
    }, 90_000, 200);
    const res = await fetch(base + done.videoUrl!);
    const file = path.join(scratch, "hub.mp4");
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    expect(await probeVideo(file, { countFrames: true })).toMatchObject({ codec: "h264", width: 160, height: 96, frames: 9 });
  });

  it("a repo the hub does not have: the install fails with the hub's 404, nothing installed", async () => {
    const { seen } = await followInstall({ source: { repo: "nobody/nothing" }, precision: "fp16" });
    expect(seen.at(-1)).toMatchObject({ status: "failed", name: "nothing", error: `nobody/nothing@main was not found on ${hub.url} (404)` });
    expect((await models()).map((m) => m.name)).not.toContain("nothing");
    expect(leftovers()).toEqual([]);
  });

  it("cancels a running install: canceled, nothing installed", async () => {
    hub.throttle(300_000);
    try {
      let install: InstallJson | undefined;
      const { events } = await readEvents(
        `${base}/api/model-installs/events`,
        (ev) => !!install && installEvents(ev, install.id).some((i) => i.progress?.phase === "download" && i.progress.done > 0),
        { timeoutMs: 60_000, onOpen: async () => void (install = await postInstall({ source: { repo: REPO }, name: "cancel-me" })) },
      );
      const running = installEvents(events, install!.id).at(-1)!;
      expect(running.status).toBe("running");
      expect(running.progress!.rateBps).not.toBeNull();
      const res = await call<InstallJson>(base, `/api/model-installs/${install!.id}/cancel`, { method: "POST" });
      expect(res.status).toBe(200);
      const ended = await waitFor("the install to end", async () => {
        const i = (await call<InstallJson>(base, `/api/model-installs/${install!.id}`)).body;
        return i.status === "running" ? undefined : i;
      }, 30_000, 100);
      expect(ended).toMatchObject({ status: "canceled", error: null });
      expect((await call(base, `/api/model-installs/${install!.id}/cancel`, { method: "POST" })).status).toBe(409);
    } finally {
      hub.throttle(null);
    }
    expect((await models()).map((m) => m.name)).not.toContain("cancel-me");
    expect(leftovers()).toEqual([]);
  });

  it("names the field at fault in a bad request", async () => {
    const bad = async (body: unknown) => (await call<{ error: { field: string; message: string } }>(base, "/api/model-installs", { method: "POST", json: body })).body.error;
    expect(await bad({ source: { repo: "not a repo" } })).toMatchObject({ field: "source.repo" });
    expect(await bad({ source: { repo: REPO }, precision: "fp64" })).toMatchObject({ field: "precision", message: `precision must be one of ${PRECISIONS.join(", ")}` });
    expect(await bad({ source: { repo: REPO }, loras: [{ file: "/no/such/style.safetensors" }] })).toEqual({
      code: "invalid_request",
      field: "loras.0.file",
      message: "loras[0].file: no such file on the server",
    });
    expect(await bad({ source: { repo: REPO }, loras: [{ file: "relative.safetensors" }] })).toMatchObject({ field: "loras.0.file" });
    expect(await bad({ source: { repo: REPO }, name: "../up" })).toMatchObject({ field: "name" });
    expect(await bad({ source: { path: "/no/such/folder" } })).toEqual({ code: "invalid_request", field: "source.path", message: "source.path: no such file or folder on the server" });
    expect(await bad({ source: { repo: REPO }, extra: 1 })).toMatchObject({ field: "extra" });
    const taken = await call<{ error: { code: string } }>(base, "/api/model-installs", { method: "POST", json: { source: { repo: REPO }, name: TINY_T2V } });
    expect([taken.status, taken.body.error.code]).toEqual([409, "conflict"]);
    expect((await call(base, "/api/model-installs/not-an-install-id")).status).toBe(404);
  });
});

describe("managing installed models", () => {
  it("makes a model the default: listed as such and used by a job that names none", async () => {
    const res = await call<ModelJson>(base, `/api/models/${TINY_T2V}`, { method: "PATCH", json: { default: true } });
    expect([res.status, res.body.default]).toEqual([200, true]);
    expect((await models()).filter((m) => m.default).map((m) => m.name)).toEqual([TINY_T2V]);
    const job = (await call<JobJson>(base, "/api/jobs", { method: "POST", json: tinyRequest({ frames: 5, steps: 2 }) })).body;
    expect(job.model).toBe(TINY_T2V);
  });

  it("refuses to rename or delete a model that a queued or running job uses; both work once it is free", async () => {
    const job = (await call<JobJson>(base, "/api/jobs", { method: "POST", json: tinyRequest({ model: INSTALLED, frames: 33, steps: 100 }) })).body;
    const del = await call<{ error: { code: string; message: string } }>(base, `/api/models/${INSTALLED}`, { method: "DELETE" });
    expect([del.status, del.body.error.message]).toEqual([409, `cannot delete ${INSTALLED}: 1 queued or running job uses it`]);
    const ren = await call<{ error: { message: string } }>(base, `/api/models/${INSTALLED}`, { method: "PATCH", json: { name: "other" } });
    expect([ren.status, ren.body.error.message]).toEqual([409, `cannot rename ${INSTALLED}: 1 queued or running job uses it`]);
    await call(base, `/api/jobs/${job.id}/cancel`, { method: "POST" });

    const renamed = await call<ModelJson>(base, `/api/models/${INSTALLED}`, { method: "PATCH", json: { name: "hub-tiny-2", default: true } });
    expect(renamed.body).toMatchObject({ name: "hub-tiny-2", default: true });
    expect((await readManifest(path.join(modelsDir, "hub-tiny-2"))).name).toBe("hub-tiny-2");
    const deleted = await call(base, "/api/models/hub-tiny-2", { method: "DELETE" });
    expect(deleted.status).toBe(204);
    const after = await models();
    expect(after.map((m) => m.name)).toEqual([TINY_T2V]);
    // The deleted default hands the role back to the automatic choice.
    expect(after[0].default).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  it("answers 404 for a model that is not installed and 400 for a bad edit", async () => {
    expect((await call(base, "/api/models/nothing-here", { method: "DELETE" })).status).toBe(404);
    const empty = await call<{ error: { field: string } }>(base, `/api/models/${TINY_T2V}`, { method: "PATCH", json: {} });
    expect(empty.status).toBe(400);
    const badName = await call<{ error: { field: string } }>(base, `/api/models/${TINY_T2V}`, { method: "PATCH", json: { name: "a/b" } });
    expect([badName.status, badName.body.error.field]).toEqual([400, "name"]);
  });

  it("describes the new routes in the OpenAPI document", async () => {
    const doc = (await call<{ paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } }>(base, "/api/openapi.json")).body;
    for (const p of ["/api/models/{name}", "/api/model-installs", "/api/model-installs/{id}", "/api/model-installs/{id}/cancel", "/api/model-installs/events"]) expect(doc.paths).toHaveProperty([p]);
    expect(doc.components.schemas).toHaveProperty("InstallRequest");
  });
});
