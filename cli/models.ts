/**
 * `npm run models -- <command>`
 *   convert <source> --out <dir> [--dtype fp32|fp16|int8|int8-compute] [--text-dtype …] [--text-len N] [--tokenizer <dir>]
 *           [--recipe rcm] [--lora <file.safetensors>[:strength]]…
 *       <source>: a Diffusers-layout root (every component present is converted), one component folder, an
 *       official / ComfyUI single file (safetensors, or Wan-AI's `.pth`), or a folder of such files. Converting into a
 *       folder that already holds a model adds or replaces components. --recipe marks a few-step distilled DiT
 *       (recognised from the file name otherwise: rCM_*.pt); see docs/distilled.md. Each --lora is merged into the
 *       DiT (strength 1 when omitted).
 *   tiny --out <dir> [--seed N] [--i2v] [--recipe rcm]
 *       Generates the tiny random-weight model (the studio's built-in default and the tests' model); --i2v makes
 *       it an image-to-video model (36-channel DiT with the CLIP image branch, and a tiny CLIP image encoder).
 *   pull <repo-id> [--revision R] [--dtype …] [--include glob]… [--name N] [--lora <file.safetensors>[:strength]]…
 *       Installs a model from a Hugging Face repo (HF_ENDPOINT, HF_TOKEN) into MODELS_DIR: the files are
 *       downloaded and checked, converted (with the LoRAs merged), and the model appears under its name only
 *       once complete.
 *   list
 *       The models installed under MODELS_DIR: name (* = the default), variant, precision, size, source, date.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../lib/config.ts";
import { listModels } from "../lib/jobs/model-catalog.ts";
import { installModel } from "../lib/model-library/install.ts";
import { installRequestSchema } from "../lib/model-library/install-schemas.ts";
import { defaultInstallName } from "../lib/model-library/install-source.ts";
import { fitModelPreview } from "../lib/model-library/preview-map.ts";
import { generateTinyModel } from "../lib/model-library/tiny.ts";
import { DISTILLED_RECIPES, type DistilledRecipe } from "../lib/schemas/generation.ts";
import { convertModel } from "../models/convert/convert.ts";
import type { LoraSpec } from "../models/convert/lora.ts";
import { readManifest } from "../models/manifest.ts";
import { PRECISIONS, type Precision } from "../models/nn.ts";
import { formatBytes, peakRss, ProgressBar } from "./progress-bar.ts";

const USAGE = `usage:
  npm run models -- convert <source> --out <dir> [--dtype ${PRECISIONS.join("|")}] [--text-dtype …]
                               [--text-len N] [--tokenizer <dir>] [--recipe ${DISTILLED_RECIPES.join("|")}]
                               [--lora <file.safetensors>[:strength]]...
  npm run models -- tiny --out <dir> [--seed N] [--i2v] [--recipe ${DISTILLED_RECIPES.join("|")}]
  npm run models -- pull <repo-id> [--revision R] [--dtype ${PRECISIONS.join("|")}] [--include glob]... [--name N]
                               [--lora <file.safetensors>[:strength]]...
  npm run models -- list`;

class UsageError extends Error {}

function recipe(v: string | undefined): DistilledRecipe | undefined {
  if (v === undefined) return undefined;
  if (!(DISTILLED_RECIPES as readonly string[]).includes(v)) {
    throw new UsageError(`--recipe must be one of ${DISTILLED_RECIPES.join(", ")} (got "${v}")`);
  }
  return v as DistilledRecipe;
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer (got "${v}")`);
  return n;
}

/** `--lora file.safetensors[:strength]`; the file must end in .safetensors, so a path's own colons stay in it. */
function loraArg(v: string): LoraSpec {
  const m = /^(.+\.safetensors)(?::(.*))?$/.exec(v);
  if (!m) throw new UsageError(`--lora expects <file.safetensors>[:strength] (got "${v}")`);
  const strength = m[2] === undefined ? 1 : Number(m[2]);
  if (m[2]?.trim() === "" || !Number.isFinite(strength)) {
    throw new UsageError(`--lora ${v}: the strength "${m[2]}" is not a number`);
  }
  return { file: path.resolve(m[1]), strength };
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
      lora: { type: "string", multiple: true },
      seed: { type: "string" },
      i2v: { type: "boolean", default: false },
      revision: { type: "string", default: "main" },
      include: { type: "string", multiple: true },
      name: { type: "string" },
      recipe: { type: "string" },
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
      const variant = `${m.variant}${m.tiny ? " (tiny)" : ""}${m.recipe ? ` (${m.recipe.name})` : ""}`;
      const manifest = await readManifest(path.join(cfg.modelsDir, m.name));
      const loras = (manifest.components.transformer?.loras ?? []).map((l) => `${l.file}:${l.strength}`).join(", ");
      const columns = [m.name + (m.default ? " *" : ""), variant, m.precision ?? "-", formatBytes(m.sizeBytes), m.source, m.installedAt.slice(0, 10)];
      console.log([...columns, ...(loras ? [`LoRA ${loras}`] : [])].join("\t"));
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
      loras: (values.lora ?? []).map(loraArg),
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
    const precision = (flag: string, v: string | undefined) => {
      if (v === undefined) return undefined;
      if (!(PRECISIONS as readonly string[]).includes(v)) throw new UsageError(`--${flag} must be one of ${PRECISIONS.join(", ")} (got "${v}")`);
      return v as Precision;
    };
    const dtype = precision("dtype", values.dtype)!;
    const textDtype = precision("text-dtype", values["text-dtype"]);
    const loras = (values.lora ?? []).map(loraArg);
    const bar = new ProgressBar();
    const manifest = await convertModel({
      source: path.resolve(source),
      outDir: out,
      precision: dtype,
      textPrecision: textDtype,
      textLen: int("text-len", values["text-len"]),
      tokenizerDir: values.tokenizer ? path.resolve(values.tokenizer) : undefined,
      recipe: recipe(values.recipe),
      loras,
      log,
      onProgress: (e) => bar.update(e.total ? e.done / e.total : 0, `${formatBytes(e.done)} / ${formatBytes(e.total)} ${e.component}`),
    });
    bar.done();
    await fitModelPreview(out, log);
    const parts = Object.keys(manifest.components).join(", ");
    console.log(`converted ${parts} → ${out} (${manifest.variant}, text length ${manifest.textLen}${manifest.recipe ? `, ${manifest.recipe} recipe` : ""})`);
    for (const l of manifest.components.transformer?.loras ?? []) console.log(`merged LoRA ${l.file} × ${l.strength} (sha256 ${l.sha256})`);
  } else if (command === "tiny") {
    const seed = values.seed === undefined ? 0 : Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer (got "${values.seed}")`);
    await generateTinyModel({ outDir: out, seed, i2v: values.i2v, recipe: recipe(values.recipe), log });
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
