import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/setup/services.ts"],
    // Graph parity and integration tests run real ONNX Runtime sessions and processes on 2 cores.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Files run one at a time: each spawns processes (Redis, workers, Next) and ONNX Runtime uses every core.
    fileParallelism: false,
    reporters: ["default"],
  },
});
