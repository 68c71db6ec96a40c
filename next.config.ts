import { realpathSync } from "node:fs";
import path from "node:path";
import type { NextConfig } from "next";

/**
 * Turbopack only reads files under its root, which defaults to this folder. A git worktree whose
 * node_modules is a symlink into another checkout needs the root to cover both; in a plain checkout
 * this is the project folder itself.
 */
function turbopackRoot(): string {
  const project = process.cwd();
  let modules: string;
  try {
    modules = realpathSync(path.join(project, "node_modules"));
  } catch {
    return project;
  }
  let root = project;
  while (path.relative(root, modules).startsWith("..")) root = path.dirname(root);
  return root;
}

const nextConfig: NextConfig = {
  // Native or server-only packages are loaded by Node at run time instead of being bundled.
  serverExternalPackages: ["better-sqlite3", "@prisma/adapter-better-sqlite3", "@prisma/adapter-pg", "pg", "bullmq", "ioredis", "sharp"],
  // `npm test` type-checks the whole project (tsc --noEmit) and lints it; the build need not do it again.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
  turbopack: { root: turbopackRoot() },
  outputFileTracingRoot: turbopackRoot(),
  experimental: {
    // With a proxy (proxy.ts, our auth), Next buffers each request body and silently cuts it at this
    // size (default 10 MB). Uploads may be 50 MB plus multipart framing (lib/jobs/limits.ts), and the
    // upload route must see more than its limit to answer 413, so the buffer is a little larger.
    proxyClientMaxBodySize: 52 * 1024 * 1024,
  },
};

export default nextConfig;
