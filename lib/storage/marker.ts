/**
 * Every host of a studio must see the same storage root (outputs and uploads: an NFS or SMB mount on
 * all but one machine), since the web server serves what the workers write. The check: a marker file
 * with a random id at the root, and the same id recorded in Redis (with the path and host that recorded
 * it). The first process of a studio to start (normally the web server) writes the marker if the root
 * has none and records its id; every later process — web server or worker — compares its root's marker
 * with the record and refuses to start when they differ or its marker is missing, naming both sides.
 * The marker also names the studio's Redis namespace: a worker whose DATA_DIR is mounted at another path
 * than the web server's gets another default REDIS_PREFIX, would wait on queues nobody fills, and is
 * told which REDIS_PREFIX to set instead.
 */
import { randomUUID } from "node:crypto";
import { link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import { z } from "zod";
import { redisName } from "../redis/namespace.ts";

export const STORAGE_MARKER_FILE = ".studio-storage-id";

const recordSchema = z.object({ id: z.string(), root: z.string(), host: z.string() });
export type StorageRecord = z.infer<typeof recordSchema>;

const recordKey = (prefix: string) => redisName(prefix, "storage");

export class StorageMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StorageMismatchError";
  }
}

type Marker = { id: string; prefix: string | undefined };

/** The marker file: the id on its first line, then "redis-prefix=<prefix>". */
async function readMarker(root: string): Promise<Marker | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(root, STORAGE_MARKER_FILE), "utf8");
  } catch {
    return undefined;
  }
  const [id, ...rest] = text.split("\n").map((l) => l.trim());
  const prefix = rest.find((l) => l.startsWith("redis-prefix="))?.slice("redis-prefix=".length);
  return id ? { id, prefix } : undefined;
}

/** Writes a new marker unless one appears meanwhile (link never replaces a file): returns the root's marker. */
async function writeMarker(root: string, prefix: string): Promise<Marker> {
  await mkdir(root, { recursive: true });
  const marker = { id: randomUUID(), prefix };
  const file = path.join(root, STORAGE_MARKER_FILE);
  const tmp = `${file}.${marker.id}.tmp`;
  await writeFile(tmp, `${marker.id}\nredis-prefix=${prefix}\n`);
  try {
    await link(tmp, file);
    return marker;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return (await readMarker(root)) ?? marker;
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Checks (or, on a studio's first start, establishes) that `root` is the studio's storage root. Returns
 * the storage id; throws StorageMismatchError naming both roots and ids when this root is not the one
 * the studio records.
 */
export async function checkStorageRoot(redis: Redis, prefix: string, root: string): Promise<string> {
  const here = { root: path.resolve(root), host: os.hostname() };
  const raw = await redis.get(recordKey(prefix));
  const recorded = raw ? recordSchema.safeParse(JSON.parse(raw)) : undefined;
  let marker = await readMarker(here.root);
  if (marker?.prefix !== undefined && marker.prefix !== prefix) {
    throw new StorageMismatchError(
      `storage root ${here.root} on ${here.host} belongs to the studio with REDIS_PREFIX=${marker.prefix}, but this process uses ${prefix} (DATA_DIR mounted at another path gives another default). Set REDIS_PREFIX=${marker.prefix} on every host.`,
    );
  }
  if (!recorded?.success) {
    // Nobody has recorded the studio's storage yet (or Redis lost it): this root becomes the record.
    marker ??= await writeMarker(here.root, prefix);
    const record: StorageRecord = { id: marker.id, ...here };
    const won = await redis.set(recordKey(prefix), JSON.stringify(record), "NX");
    if (won) return marker.id;
    return checkStorageRoot(redis, prefix, root);
  }
  const theirs = recorded.data;
  if (marker?.id === theirs.id) return marker.id;
  const where = `the studio's storage root is ${theirs.root} on ${theirs.host} (marker id ${theirs.id})`;
  throw new StorageMismatchError(
    marker === undefined
      ? `storage root ${here.root} on ${here.host} has no ${STORAGE_MARKER_FILE}, but ${where}. Mount that same folder here (NFS or SMB) and point DATA_DIR at it.`
      : `storage root ${here.root} on ${here.host} has marker id ${marker.id}, but ${where}. This is another folder: mount the studio's storage root here and point DATA_DIR at it.`,
  );
}

/** The recorded storage id (for /api/health), or null while none is recorded. */
export async function recordedStorage(redis: Redis, prefix: string): Promise<StorageRecord | null> {
  const raw = await redis.get(recordKey(prefix));
  const parsed = raw ? recordSchema.safeParse(JSON.parse(raw)) : undefined;
  return parsed?.success ? parsed.data : null;
}
