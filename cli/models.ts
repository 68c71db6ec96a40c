/**
 * `npm run models -- <command>`
 *   convert <source> --out <dir> [--dtype fp32|fp16|int8] [--text-dtype …] [--text-len N] [--tokenizer <dir>]
 *       <source>: a Diffusers-layout root (every component present is converted), one component folder, an
 *       official / ComfyUI single file (safetensors, or Wan-AI's `.pth`), or a folder of such files. Converting into a folder that already holds
 *       a model adds or replaces components.
 *   tiny --out <dir> [--seed N] [--i2v]
 *       Generates the tiny random-weight model (the studio's built-in default and the tests' model); --i2v makes
 *       it an image-to-video model (36-channel DiT with the CLIP image branch, and a tiny CLIP image encoder).
 *   pull <repo-id> [--revision R] [--dtype fp32|fp16|int8] [--include glob]… [--name N]
 *       Installs a model from a Hugging Face repo (HF_ENDPOINT, HF_TOKEN) into MODELS_DIR: the files are
 *       downloaded and checked, converted, and the model appears under its name only once complete.
 *   list
 *       The models installed under MODELS_DIR: name (* = the default), variant, precision, size, source, date.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../lib/config.ts";
import { listModels } from "../lib/jobs/models.ts";
import { installModel } from "../lib/models/install.ts";
import { installRequestSchema } from "../lib/models/install-schemas.ts";
import { defaultInstallName } from "../lib/models/install-source.ts";
import { fitModelPreview } from "../lib/models/preview-fit.ts";
import { generateTinyModel } from "../lib/models/tiny.ts";
import { convertModel } from "../models/convert/convert.ts";
import { formatBytes, peakRss, ProgressBar } from "./progress-bar.ts";

const USAGE = `usage:
  npm run models -- convert <source> --out <dir> [--dtype fp32|fp16|int8] [--text-dtype fp32|fp16|int8]
                               [--text-len N] [--tokenizer <dir>]
  npm run models -- tiny --out <dir> [--seed N] [--i2v]
  npm run models -- pull <repo-id> [--revision R] [--dtype fp32|fp16|int8] [--include glob]... [--name N]
  npm run models -- list`;

class UsageError extends Error {}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer (got "${v}")`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      dtype: { type: "string", default: "fp32" },
      "text-dtype": { type: "string" },
      "text-len": { type: "string" },
      tokenizer: { type: "string" },
      seed: { type: "string" },
      i2v: { type: "boolean", default: false },
      revision: { type: "string", default: "main" },
      include: { type: "string", multiple: true },
      name: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, source] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const started = performance.now();
  const log = (line: string) => console.log(line);

  if (command === "list") {
    const cfg = loadConfig();
    const models = await listModels(cfg.modelsDir, log);
    if (!models.length) console.log(`no models in ${cfg.modelsDir}`);
    for (const m of models) {
      const variant = `${m.variant}${m.tiny ? " (tiny)" : ""}`;
      console.log([m.name + (m.default ? " *" : ""), variant, m.precision ?? "-", formatBytes(m.sizeBytes), m.source, m.installedAt.slice(0, 10)].join("\t"));
    }
    return 0;
  }

  if (command === "pull") {
    if (!source) throw new UsageError("pull needs a <repo-id>");
    const cfg = loadConfig();
    const request = installRequestSchema.safeParse({
      source: { repo: source, revision: values.revision, include: values.include },
      name: values.name,
      precision: values.dtype,
    });
    if (!request.success) {
      const issue = request.error.issues[0];
      throw new UsageError(issue.message);
    }
    const spec = { ...request.data, name: request.data.name ?? defaultInstallName(request.data.source) };
    let bar = new ProgressBar();
    let phase: string | null = null;
    const abort = new AbortController();
    process.once("SIGINT", () => abort.abort(new Error("interrupted: nothing was installed")));
    const manifest = await installModel(spec, {
      modelsDir: cfg.modelsDir,
      hub: cfg.hub,
      signal: abort.signal,
      log: (line) => {
        if (!process.stderr.isTTY) log(line);
      },
      onProgress: (p) => {
        if (phase && phase !== p.phase) {
          bar.done();
          bar = new ProgressBar();
        }
        phase = p.phase;
        const rate = p.rateBps ? ` ${formatBytes(p.rateBps)}/s` : "";
        const eta = p.etaS !== null ? ` ETA ${Math.ceil(p.etaS)} s` : "";
        bar.update(p.total ? p.done / p.total : 0, `${p.phase} ${formatBytes(p.done)} / ${formatBytes(p.total)}${rate}${eta}`);
      },
    });
    bar.done();
    console.log(`installed ${spec.name} → ${path.join(cfg.modelsDir, spec.name)} (${manifest.variant}, ${spec.precision}, from ${manifest.source})`);
    console.log(`time ${((performance.now() - started) / 1000).toFixed(1)} s, peak memory ${formatBytes(peakRss())}`);
    return 0;
  }

  if (!values.out) throw new UsageError("--out <dir> is required");
  const out = path.resolve(values.out);
  if (command === "convert") {
    if (!source) throw new UsageError("convert needs a <source>");
    const precisions = ["fp32", "fp16", "int8"] as const;
    const precision = (flag: string, v: string | undefined) => {
      if (v === undefined) return undefined;
      if (!(precisions as readonly string[]).includes(v)) throw new UsageError(`--${flag} must be fp32, fp16 or int8 (got "${v}")`);
      return v as (typeof precisions)[number];
    };
    const dtype = precision("dtype", values.dtype)!;
    const textDtype = precision("text-dtype", values["text-dtype"]);
    const bar = new ProgressBar();
    const manifest = await convertModel({
      source: path.resolve(source),
      outDir: out,
      precision: dtype,
      textPrecision: textDtype,
      textLen: int("text-len", values["text-len"]),
      tokenizerDir: values.tokenizer ? path.resolve(values.tokenizer) : undefined,
      log,
      onProgress: (e) => bar.update(e.total ? e.done / e.total : 0, `${formatBytes(e.done)} / ${formatBytes(e.total)} ${e.component}`),
    });
    bar.done();
    await fitModelPreview(out, log);
    const parts = Object.keys(manifest.components).join(", ");
    console.log(`converted ${parts} → ${out} (${manifest.variant}, text length ${manifest.textLen})`);
  } else if (command === "tiny") {
    const seed = values.seed === undefined ? 0 : Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer (got "${values.seed}")`);
    await generateTinyModel({ outDir: out, seed, i2v: values.i2v, log });
    console.log(`tiny model → ${out}`);
  } else {
    throw new UsageError(`unknown command "${command}"`);
  }
  console.log(`time ${((performance.now() - started) / 1000).toFixed(1)} s, peak memory ${formatBytes(peakRss())}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`error: ${e.message}`);
    if (e instanceof UsageError) console.error(USAGE);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
