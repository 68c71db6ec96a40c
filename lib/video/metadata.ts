/**
 * Generation settings carried inside the MP4 itself, so any video the studio made can say how it was
 * made (prompt, seed, steps, model…) even after it leaves the studio's database.
 *
 * The encoder passes each tag as `-metadata key=value` with `-movflags +use_metadata_tags`: the mov
 * muxer then stores every tag as a QuickTime `mdta` key/value pair (UTF-8, any key name), instead of
 * only the handful of iTunes atoms it knows, and ffprobe reads them back under the same key. The full
 * settings go into `comment` as JSON (the one tag players commonly show); scalar settings also get a
 * tag of their own so `ffprobe` or a file manager shows them without parsing JSON.
 */
import { runFfprobeJson } from "./ffmpeg-tools.ts";

/** The tag that holds the JSON of all generation settings. */
export const SETTINGS_TAG = "comment";

/** Tags ffmpeg writes itself or that hold the settings JSON; a setting never overrides them. */
const RESERVED_TAGS = new Set([SETTINGS_TAG, "major_brand", "minor_version", "compatible_brands", "encoder", "creation_time"]);

/** `-metadata key=value` splits at the first "=", so keys stay within a plain, portable alphabet. */
const TAG_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/**
 * One command-line argument may hold at most 128 KiB on Linux (MAX_ARG_STRLEN); stay well below,
 * counted in UTF-8 bytes since that is what reaches ffmpeg.
 */
export const MAX_TAG_VALUE_BYTES = 64 * 1024;

/** Checks tags before they reach ffmpeg's command line; throws an error naming the bad tag. */
export function validateMp4Metadata(metadata: Record<string, string>): void {
  for (const [key, value] of Object.entries(metadata)) {
    if (!TAG_KEY.test(key)) {
      throw new RangeError(
        `MP4 metadata key ${JSON.stringify(key)} is not allowed: use 1–64 characters from A–Z a–z 0–9 _ . - (not starting with . or -)`,
      );
    }
    if (typeof value !== "string") throw new TypeError(`MP4 metadata "${key}" must be a string, got ${typeof value}`);
    if (value.includes("\0")) throw new RangeError(`MP4 metadata "${key}" contains a NUL character`);
    const bytes = Buffer.byteLength(value, "utf8");
    if (bytes > MAX_TAG_VALUE_BYTES) {
      throw new RangeError(`MP4 metadata "${key}" is ${bytes} bytes; the limit is ${MAX_TAG_VALUE_BYTES}`);
    }
  }
}

/**
 * The tags for a video's generation settings: `comment` = JSON of all of them, plus one tag per
 * top-level string/number/boolean setting whose name is a valid tag key and not reserved.
 */
export function settingsToMp4Metadata(settings: Record<string, unknown>): Record<string, string> {
  const tags: Record<string, string> = { [SETTINGS_TAG]: JSON.stringify(settings) };
  for (const [key, value] of Object.entries(settings)) {
    if (RESERVED_TAGS.has(key) || !TAG_KEY.test(key)) continue;
    if (typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value))) {
      tags[key] = String(value);
    }
  }
  return tags;
}

/** All container-level tags of a media file, as ffprobe reports them (`format.tags`). */
export async function readMp4Metadata(file: string): Promise<Record<string, string>> {
  const probe = (await runFfprobeJson(["-show_format"], file)) as { format?: { tags?: Record<string, unknown> } };
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(probe.format?.tags ?? {})) tags[key] = String(value);
  return tags;
}

/** The generation settings embedded by `settingsToMp4Metadata`, or undefined when the file has none. */
export async function readGenerationSettings(file: string): Promise<Record<string, unknown> | undefined> {
  const json = (await readMp4Metadata(file))[SETTINGS_TAG];
  if (json === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(json);
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    // A comment written by some other tool, not our settings.
    return undefined;
  }
}
