/**
 * The storage marker: the first process of a studio records its storage root's id in Redis; a process on
 * another folder (no marker, another marker, or a marker of another studio's namespace) is refused with
 * both sides named. Real Redis, real folders.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createRedis } from "../../lib/redis/connection.ts";
import { checkStorageRoot, recordedStorage, STORAGE_MARKER_FILE } from "../../lib/storage/marker.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { redisDbUrl } from "../helpers/jobs-context.ts";

const redis = createRedis(redisDbUrl(inject("redisUrl"), 10), "marker-test");
const prefix = `marker-test-${process.pid}-${Date.now()}`;
const base = tempDir("studio-marker");
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  rmSync(base, { recursive: true, force: true });
});

describe("storage marker", () => {
  const shared = path.join(base, "shared");
  it("the first process writes the marker and records it; the same root passes again", async () => {
    const id = await checkStorageRoot(redis, prefix, shared);
    expect(readFileSync(path.join(shared, STORAGE_MARKER_FILE), "utf8")).toBe(`${id}\nredis-prefix=${prefix}\n`);
    expect(await recordedStorage(redis, prefix)).toMatchObject({ id, root: shared });
    expect(await checkStorageRoot(redis, prefix, shared)).toBe(id);
  });

  it("refuses a root without the marker, naming both roots and the studio's id", async () => {
    const local = path.join(base, "local");
    const { id } = (await recordedStorage(redis, prefix))!;
    const refusal = await checkStorageRoot(redis, prefix, local).catch((e: Error) => e);
    expect(refusal).toBeInstanceOf(Error);
    expect((refusal as Error).message).toContain(`storage root ${local}`);
    expect((refusal as Error).message).toContain(`has no ${STORAGE_MARKER_FILE}, but the studio's storage root is ${shared}`);
    expect((refusal as Error).message).toContain(id);
  });

  it("refuses a root with another marker, and one marked by another namespace", async () => {
    const other = path.join(base, "other");
    mkdirSync(other);
    writeFileSync(path.join(other, STORAGE_MARKER_FILE), `not-the-id\nredis-prefix=${prefix}\n`);
    await expect(checkStorageRoot(redis, prefix, other)).rejects.toThrow(/has marker id not-the-id, but the studio's storage root is/);
    writeFileSync(path.join(other, STORAGE_MARKER_FILE), "some-id\nredis-prefix=studio-elsewhere\n");
    await expect(checkStorageRoot(redis, prefix, other)).rejects.toThrow(/REDIS_PREFIX=studio-elsewhere, but this process uses/);
  });
});
