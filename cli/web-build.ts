/**
 * Builds the Next.js app when its sources changed since the last build (a content hash is kept in
 * .next/), so `npm run studio` starts fast after the first time and the tests reuse one build.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
export const nextBin = path.join(path.dirname(require.resolve("next/package.json")), "dist", "bin", "next");

const SOURCES = ["app", "components", "lib", "models", "public", "prisma/schema.prisma", "next.config.ts", "package-lock.json", "tsconfig.json"];

export function buildWebIfStale(log: (line: string) => void = console.log, root = process.cwd()): void {
  const hashFile = path.join(root, ".next", "studio-sources.sha256");
  const hash = sourcesHash(root);
  if (existsSync(path.join(root, ".next", "BUILD_ID")) && existsSync(hashFile) && readFileSync(hashFile, "utf8") === hash) {
    return;
  }
  log("building the web app (first start or changed sources)…");
  const started = Date.now();
  const result = spawnSync(process.execPath, [nextBin, "build"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" },
  });
  if (result.status !== 0) throw new Error("next build failed (see above)");
  writeFileSync(hashFile, hash);
  log(`built the web app in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function sourcesHash(root: string): string {
  const h = createHash("sha256");
  const walk = (p: string) => {
    if (!existsSync(p)) return;
    if (statSync(p).isDirectory()) {
      if (p.endsWith(path.join("lib", "db", "generated"))) return;
      for (const name of readdirSync(p).sort()) walk(path.join(p, name));
    } else {
      h.update(path.relative(root, p));
      h.update(readFileSync(p));
    }
  };
  for (const r of SOURCES) walk(path.join(root, r));
  return h.digest("hex");
}
