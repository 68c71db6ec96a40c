/**
 * `npm run device:pack -- --out <dir>`: the device benchmark as a self-contained folder for a lent GPU machine,
 * which has no Node.js and no network (docs/gpu-benchmark.md). It holds:
 *
 *   run.sh                       the launcher (bench/device-run.sh)
 *   bench.mjs                    bench/device.ts and everything it imports, bundled by esbuild
 *   node.xz                      this machine's Node binary, stripped and xz-compressed
 *   node_modules/onnxruntime-*   the ONNX Runtime binding's JS, its Linux x64 addon and libonnxruntime.so.1.xz
 *   node_modules/webgpu          Dawn's Node bindings (dawn.node.xz), which name the GPU adapter
 *   debs/                        the Vulkan loader packages the device README names (apt-get download)
 *   manifest.json                versions, sizes and checksums
 *
 * Compressed files and the .deb files are cached under --cache (ignored by git), keyed by their source's hash.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";

/** Leaves room beside the bundle for the anchor script and the official sources in one device call. */
const DEVICE_PACK_LIMIT_BYTES = 60 * 2 ** 20;
/** What one device call may carry in all: the checkout's tracked files plus the carried folders. */
const DEVICE_TREE_LIMIT_BYTES = 64 * 2 ** 20;
/** The device README's list: the Vulkan loader and the GL dispatch libraries NVIDIA's Vulkan driver loads. */
const VULKAN_PACKAGES = ["libvulkan1", "libegl1", "libglvnd0", "libopengl0", "libgl1", "libglx0", "libgles2"];
const ORT_PLATFORM_DIR = "bin/napi-v6/linux/x64";

const root = path.resolve(import.meta.dirname, "..");
const require = createRequire(import.meta.url);

function fail(message: string): never {
  console.error(`device:pack: ${message}`);
  process.exit(1);
}

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function has(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

/** `source` stripped of symbols (when `strip` is installed) and xz-compressed with the x86 filter, cached by hash. */
async function compressed(source: string, name: string, cache: string): Promise<string> {
  const key = (await sha256(source)).slice(0, 16);
  const cached = path.join(cache, `${name}-${key}.xz`);
  if (existsSync(cached)) return cached;
  mkdirSync(cache, { recursive: true });
  const work = `${cached}.part`;
  copyFileSync(source, work);
  // Node ships with its debug symbols (99 MB → 86 MB stripped); the ORT library is stripped already.
  if (has("strip")) execFileSync("strip", ["--strip-unneeded", work]);
  console.error(`device:pack: compressing ${name} (${(statSync(work).size / 2 ** 20).toFixed(1)} MiB, xz -6 with the x86 filter; cached afterwards)…`);
  execFileSync("xz", ["-f", "-T0", "--x86", "--lzma2=preset=6", work]);
  renameSync(`${work}.xz`, cached);
  return cached;
}

/** The .deb files of the Vulkan loader, fetched once into the cache as the device README does it. */
function vulkanDebs(cache: string): { files: string[]; problem?: string } {
  const dir = path.join(cache, "vulkan-debs");
  const present = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".deb")) : []);
  const missing = () => VULKAN_PACKAGES.filter((p) => !present().some((f) => f.startsWith(`${p}_`)));
  if (missing().length) {
    mkdirSync(dir, { recursive: true });
    const lists = path.join(cache, "apt-lists");
    mkdirSync(path.join(lists, "partial"), { recursive: true });
    const opts = ["-oAPT::Architecture=amd64", "-oAPT::Architectures=amd64", `-oDir::State::Lists=${lists}`, "-qq"];
    const update = spawnSync("apt-get", [...opts, "update"], { encoding: "utf8" });
    const download = update.status === 0 ? spawnSync("apt-get", [...opts, "download", ...missing()], { cwd: dir, encoding: "utf8" }) : update;
    if (download.status !== 0) {
      const why = download.error?.message ?? (download.stderr || download.stdout).trim().split("\n").slice(-2).join(" ");
      return { files: present().map((f) => path.join(dir, f)), problem: `apt-get could not fetch ${missing().join(", ")}: ${why}` };
    }
  }
  return { files: present().map((f) => path.join(dir, f)) };
}

function copyTree(from: string, to: string, keep: (file: string) => boolean): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst, keep);
    else if (keep(entry.name)) {
      mkdirSync(to, { recursive: true });
      copyFileSync(src, dst);
    }
  }
}

/** The package folder above `file`: the first package.json with a name (onnxruntime-common exports no ./package.json to resolve, and its dist/cjs holds a nameless one). */
function packageRoot(file: string): string {
  let dir = path.dirname(file);
  const named = (d: string) => existsSync(path.join(d, "package.json")) && Boolean((JSON.parse(readFileSync(path.join(d, "package.json"), "utf8")) as { name?: string }).name);
  while (!named(dir)) {
    if (path.dirname(dir) === dir) fail(`no package.json above ${file}`);
    dir = path.dirname(dir);
  }
  return dir;
}

/** The runtime JS of onnxruntime-node and onnxruntime-common (no maps, no typings), resolved by bench.mjs from the bundle's node_modules. */
function copyOnnxRuntimeJs(out: string): string {
  const nodePkg = path.dirname(require.resolve("onnxruntime-node/package.json"));
  const commonPkg = packageRoot(createRequire(path.join(nodePkg, "package.json")).resolve("onnxruntime-common"));
  const js = (f: string) => f.endsWith(".js") || f.endsWith(".mjs") || f === "package.json";
  for (const [pkg, name] of [[nodePkg, "onnxruntime-node"], [commonPkg, "onnxruntime-common"]]) {
    const dst = path.join(out, "node_modules", name);
    mkdirSync(dst, { recursive: true });
    copyFileSync(path.join(pkg, "package.json"), path.join(dst, "package.json"));
    copyTree(path.join(pkg, "dist"), path.join(dst, "dist"), js);
  }
  return nodePkg;
}

/**
 * The `webgpu` package (Dawn's Node bindings), which lib/engine/gpu-adapter.ts asks for the adapter's name and
 * limits: its loader and the Linux x64 dawn.node, compressed (run.sh unpacks it beside the .xz).
 */
async function copyWebGpuPackage(out: string, cache: string): Promise<string> {
  const pkg = packageRoot(require.resolve("webgpu"));
  const dst = path.join(out, "node_modules", "webgpu");
  const binDir = path.join("dist", "linux-x64");
  mkdirSync(path.join(dst, binDir), { recursive: true });
  for (const f of ["package.json", "index.js"]) copyFileSync(path.join(pkg, f), path.join(dst, f));
  copyFileSync(await compressed(path.join(pkg, binDir, "dawn.node"), "dawn.node", cache), path.join(dst, binDir, "dawn.node.xz"));
  return (JSON.parse(readFileSync(path.join(pkg, "package.json"), "utf8")) as { version: string }).version;
}

async function bundle(out: string): Promise<void> {
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [path.join(root, "bench", "device.ts")],
    outfile: path.join(out, "bench.mjs"),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["onnxruntime-node", "onnxruntime-common", "webgpu"],
    // CommonJS dependencies inside an ES module bundle still call require().
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
    legalComments: "none",
    logLevel: "warning",
  });
}

/** Bytes of the files git tracks in this checkout: they travel with every device call. */
function trackedBytes(): number | undefined {
  const r = spawnSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) return undefined;
  return r.stdout.split("\0").filter(Boolean).reduce((sum, f) => sum + (existsSync(path.join(root, f)) ? statSync(path.join(root, f)).size : 0), 0);
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: "data/device-pack" },
      cache: { type: "string", default: "data/device-pack-cache" },
    },
  });
  if (process.platform !== "linux" || process.arch !== "x64") fail(`the lent machines are Linux x64; this is ${process.platform} ${process.arch}, whose Node binary would not run there`);
  if (!has("xz")) fail("xz is not installed (Debian: apt-get install xz-utils)");
  const out = path.resolve(values.out!);
  const cache = path.resolve(values.cache!);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  await bundle(out);
  const nodePkg = copyOnnxRuntimeJs(out);
  const ortSrc = path.join(nodePkg, ORT_PLATFORM_DIR);
  const ortDst = path.join(out, "node_modules", "onnxruntime-node", ORT_PLATFORM_DIR);
  mkdirSync(ortDst, { recursive: true });
  copyFileSync(path.join(ortSrc, "onnxruntime_binding.node"), path.join(ortDst, "onnxruntime_binding.node"));
  copyFileSync(await compressed(path.join(ortSrc, "libonnxruntime.so.1"), "libonnxruntime.so.1", cache), path.join(ortDst, "libonnxruntime.so.1.xz"));
  const dawn = await copyWebGpuPackage(out, cache);
  copyFileSync(await compressed(process.execPath, "node", cache), path.join(out, "node.xz"));
  copyFileSync(path.join(root, "bench", "device-run.sh"), path.join(out, "run.sh"));
  execFileSync("chmod", ["+x", path.join(out, "run.sh")]);

  const debs = vulkanDebs(cache);
  if (debs.files.length) mkdirSync(path.join(out, "debs"));
  for (const f of debs.files) copyFileSync(f, path.join(out, "debs", path.basename(f)));
  if (debs.problem) console.error(`device:pack: WARNING: ${debs.problem}. The bundle has no Vulkan loader of its own: WebGPU on the device then needs libvulkan1 installed there.`);

  const ortVersion = (JSON.parse(readFileSync(path.join(nodePkg, "package.json"), "utf8")) as { version: string }).version;
  const files = await Promise.all(
    [...listFiles(out)].map(async (f) => ({ path: path.relative(out, f), bytes: statSync(f).size, sha256: await sha256(f) })),
  );
  const total = files.reduce((s, f) => s + f.bytes, 0);
  const manifest = {
    created: new Date().toISOString(),
    node: process.version,
    onnxruntimeNode: ortVersion,
    webgpu: dawn,
    vulkanDebs: debs.files.map((f) => path.basename(f)),
    vulkanDebsProblem: debs.problem ?? null,
    totalBytes: total,
    files,
  };
  writeFileSync(path.join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  const size = total + statSync(path.join(out, "manifest.json")).size;
  if (size > DEVICE_PACK_LIMIT_BYTES) fail(`the bundle is ${mib(size)}, over its limit of ${mib(DEVICE_PACK_LIMIT_BYTES)}`);
  const tracked = trackedBytes();
  console.log(`device:pack: ${out} — ${mib(size)} (limit ${mib(DEVICE_PACK_LIMIT_BYTES)}); Node ${process.version}, onnxruntime-node ${ortVersion}, webgpu ${dawn}, ${debs.files.length} Vulkan .deb files`);
  if (tracked !== undefined) {
    const call = tracked + size;
    console.log(
      `device:pack: one device call carries this checkout's tracked files (${mib(tracked)}) + the bundle = ${mib(call)}` +
        (call > DEVICE_TREE_LIMIT_BYTES ? ` — over the ${mib(DEVICE_TREE_LIMIT_BYTES)} a call may carry: send it in two calls (docs/gpu-benchmark.md)` : ` (limit ${mib(DEVICE_TREE_LIMIT_BYTES)})`),
    );
  }
}

function* listFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* listFiles(p);
    else yield p;
  }
}

await main();
