/**
 * Access control of a studio listening beyond loopback (HOST=0.0.0.0, so STUDIO_TOKEN is required):
 * API calls need the bearer token or the login cookie, pages send the browser to /login, and the proxy
 * that checks this still lets large uploads through whole.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { rmSync } from "node:fs";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createRedis } from "../../lib/redis/connection.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { redisDbUrl } from "../helpers/jobs-context.ts";
import { writeTestModel } from "../helpers/models.ts";
import { startStudioProcesses, type StudioProcesses } from "../helpers/studio.ts";
import { call, readEvents } from "./helpers.ts";

const TOKEN = "correct-horse-battery-staple-42";
let studio: StudioProcesses;
let base: string;
const dataDir = tempDir("studio-auth");

beforeAll(async () => {
  // A manifest is enough: no worker runs here, so the model is never loaded.
  await writeTestModel(path.join(dataDir, "models"));
  const redisUrl = redisDbUrl(inject("redisUrl"), 9);
  const redis = createRedis(redisUrl, "auth-test-setup");
  await redis.flushdb();
  redis.disconnect();
  studio = await startStudioProcesses({ dataDir, redisUrl, env: { HOST: "0.0.0.0", STUDIO_TOKEN: TOKEN } });
  base = studio.url;
});
afterAll(async () => {
  await studio?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("auth when the studio is exposed", () => {
  it("answers 401 with the JSON error shape without credentials or with a wrong token", async () => {
    for (const p of ["/api/jobs", "/api/models", "/api/openapi.json", "/api/health", "/api/events"]) {
      const res = await call<{ error: { code: string } }>(base, p);
      expect({ p, status: res.status, code: res.body.error?.code }).toEqual({ p, status: 401, code: "unauthorized" });
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
    }
    expect((await call(base, "/api/jobs", { headers: bearer("wrong-token-wrong-token") })).status).toBe(401);
    const post = await call(base, "/api/jobs", { method: "POST", json: { prompt: "x" } });
    expect(post.status).toBe(401);
  });

  it("accepts the bearer token", async () => {
    const res = await call<{ jobs: unknown[] }>(base, "/api/jobs", { headers: bearer(TOKEN) });
    expect(res.status).toBe(200);
    expect(res.body.jobs).toEqual([]);
  });

  it("sends pages to /login, which stays reachable", async () => {
    const page = await fetch(`${base}/?tab=queue`, { redirect: "manual" });
    expect([307, 308]).toContain(page.status);
    const location = new URL(page.headers.get("location")!, base);
    expect(location.pathname).toBe("/login");
    expect(location.searchParams.get("next")).toBe("/?tab=queue");
    expect((await call(base, "/api/login")).body).toEqual({ authRequired: true, authenticated: false });
  });

  it("logs in for an HttpOnly cookie that then works for the API and event streams; logout clears it", async () => {
    const wrong = await call<{ error: { field: string } }>(base, "/api/login", { method: "POST", json: { token: "not-the-token-at-all" } });
    expect([wrong.status, wrong.body.error.field]).toEqual([401, "token"]);
    expect(wrong.headers.get("set-cookie")).toBeNull();

    const login = await call(base, "/api/login", { method: "POST", json: { token: TOKEN } });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^studio_session=[^;]+;/);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Lax");
    // The cookie is derived from the token, it is not the token.
    expect(setCookie).not.toContain(TOKEN);
    const cookie = setCookie.split(";")[0];

    expect((await call(base, "/api/jobs", { headers: { cookie } })).status).toBe(200);
    expect((await call(base, "/api/login", { headers: { cookie } })).body).toEqual({ authRequired: true, authenticated: true });
    expect((await fetch(`${base}/`, { headers: { cookie }, redirect: "manual" })).status).toBe(200);
    const stream = await readEvents(`${base}/api/events`, (ev) => ev.length >= 1, { headers: { cookie } });
    expect(stream.status).toBe(200);
    expect(stream.events[0].event).toBe("snapshot");
    expect((await call(base, "/api/jobs", { headers: { cookie: "studio_session=forged" } })).status).toBe(401);

    const logout = await call(base, "/api/logout", { method: "POST", headers: { cookie } });
    expect(logout.status).toBe(204);
    expect(logout.headers.get("set-cookie")).toMatch(/^studio_session=;.*Max-Age=0/);
  });

  it("lets an upload larger than Next's default 10 MB proxy buffer through whole", async () => {
    // Noise does not compress: a 2000x2000 RGB PNG is about 12 MB.
    const noise = randomBytes(2000 * 2000 * 3);
    const png = await sharp(noise, { raw: { width: 2000, height: 2000, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
    expect(png.length).toBeGreaterThan(11 * 1024 * 1024);
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(png)], { type: "image/png" }), "noise.png");
    const res = await call<{ width: number; height: number }>(base, "/api/uploads", { method: "POST", body: form, headers: bearer(TOKEN) });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ width: 2000, height: 2000 });
  });
});
