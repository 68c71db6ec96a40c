/**
 * Fetches ONNX Runtime's CUDA execution provider (from NuGet, as onnxruntime-node's own installer does).
 * `npm ci` skips this step (package.json `allowScripts` denies onnxruntime-node's install script) so that offline
 * installs succeed; run `npm run gpu:install` on a machine
 * with network and an NVIDIA driver, CUDA 12 and cuDNN 9. The worker logs the providers it actually uses.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const script = path.join(path.dirname(require.resolve("onnxruntime-node/package.json")), "script", "install.js");
// The installer reads ONNXRUNTIME_NODE_INSTALL: here it asks for CUDA 12.
const result = spawnSync(process.execPath, [script], {
  stdio: "inherit",
  env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "cuda12" },
});
if (result.status !== 0) {
  console.error("Fetching the CUDA provider failed (network needed: api.nuget.org). The studio keeps running on CPU.");
  process.exit(result.status ?? 1);
}
console.log("CUDA provider installed. Restart the studio; the worker log shows: execution providers: cuda, cpu");
