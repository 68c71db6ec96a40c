import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Native or server-only packages are loaded by Node at run time instead of being bundled.
  serverExternalPackages: ["better-sqlite3", "@prisma/adapter-better-sqlite3", "@prisma/adapter-pg", "pg", "bullmq", "ioredis", "sharp"],
  // `npm test` type-checks the whole project (tsc --noEmit) and lints it; the build need not do it again.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
