/** Bytes a model folder takes on disk (every file under it; links are not followed). */
import { lstatSync, readdirSync } from "node:fs";
import path from "node:path";

export function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) total += folderBytes(p);
    else if (entry.isFile()) total += lstatSync(p).size;
  }
  return total;
}
