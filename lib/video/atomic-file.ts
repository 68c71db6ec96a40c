/**
 * Atomic publication of generated files. Videos and posters are written under a hidden temporary name
 * in the destination folder and renamed into place only when complete: rename(2) within one folder
 * (one file system) is atomic, so the studio never serves a half-written file, and a crash leaves
 * only a `.….partial.…` file that `isPartialFile` recognises for clean-up.
 */
import { randomBytes } from "node:crypto";
import { rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

const PARTIAL_MARKER = ".partial";

/**
 * A temporary name beside `file`: `.<name>.<random>.partial<ext>`. The random part lets two writers
 * aim at the same destination without trampling each other; the extension stays last so tools that
 * look at it (ffmpeg, sharp) still see the right format.
 */
export function temporarySiblingPath(file: string): string {
  const { dir, name, ext } = path.parse(file);
  return path.join(dir, `.${name}.${randomBytes(4).toString("hex")}${PARTIAL_MARKER}${ext}`);
}

/** True for names made by `temporarySiblingPath`: leftovers of an interrupted write. */
export function isPartialFile(fileName: string): boolean {
  const base = path.basename(fileName);
  return base.startsWith(".") && /\.[0-9a-f]{8}\.partial(\.[^.]*)?$/.test(base);
}

/** Writes `data` to `file` through a temporary sibling and a rename; on failure no file is left. */
export async function writeFileAtomically(file: string, data: Uint8Array): Promise<void> {
  const temporary = temporarySiblingPath(file);
  try {
    await writeFile(temporary, data);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
