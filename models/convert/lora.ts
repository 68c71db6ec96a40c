/**
 * Merging LoRAs into the DiT when it is converted. A LoRA file holds updates to named DiT weights:
 *   - low-rank pairs, W += strength · (alpha / rank) · B·A, as PEFT/Diffusers (`<module>.lora_A.weight` = A,
 *     `.lora_B.weight` = B) or kohya/musubi (`.lora_down.weight` = A, `.lora_up.weight` = B), with an optional
 *     `<module>.alpha` (the rank when absent, so the scale is 1);
 *   - full differences, W += strength · diff (`<module>.diff` for the weight, `<module>.diff_b` for the bias).
 * Modules are named in either checkpoint layout, bare or under `transformer.` / `diffusion_model.` /
 * `model.diffusion_model.`, or kohya-flattened (`lora_unet_blocks_0_self_attn_q`), and resolve through the DiT
 * checkpoint's own Diffusers → official names (models/wan/dit-checkpoint.ts). Every key is checked against the
 * base model before anything is converted; the updates are applied as the converter reads each weight
 * (WeightStore.patch), so conversion still holds one tensor at a time.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import path from "node:path";
import { isFloat } from "../graph/dtype.ts";
import type { MergedLora } from "../manifest.ts";
import { COMFY_PREFIX, ditKeyFromDiffusers, ditKeyToDiffusers } from "../wan/dit-checkpoint.ts";
import { SafetensorsFile } from "../weights/safetensors.ts";
import type { WeightStore } from "../weights/store.ts";

/** A LoRA to merge: its safetensors file and how strongly (1 = as trained, 0 = not at all, negative inverts it). */
export type LoraSpec = { file: string; strength: number };

export class LoraError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LoraError";
  }
}

type Part = "down" | "up" | "alpha" | "diff" | "diffBias";

const SUFFIXES: [string, Part][] = [
  [".lora_A.weight", "down"],
  [".lora_B.weight", "up"],
  [".lora_down.weight", "down"],
  [".lora_up.weight", "up"],
  [".alpha", "alpha"],
  [".diff", "diff"],
  [".diff_b", "diffBias"],
];

/** What trainers put before a DiT module's name: ComfyUI, musubi/ComfyUI LoRAs, Diffusers pipelines, raw PEFT. */
const MODULE_PREFIXES = [COMFY_PREFIX, "diffusion_model.", "transformer.", "base_model.model."];
const KOHYA_PREFIX = "lora_unet_";
const WEIGHT = ".weight";

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Opens the LoRAs, checks every key against the base DiT in `store` and registers their updates on it; call
 * close() once the converter has read the weights.
 */
export async function attachLoras(
  store: WeightStore,
  loras: LoraSpec[],
): Promise<{ merged: MergedLora[]; close: () => Promise<void> }> {
  const opened: SafetensorsFile[] = [];
  const close = async () => void (await Promise.all(opened.map((f) => f.close())));
  try {
    const resolve = moduleResolver(store);
    const merged: MergedLora[] = [];
    for (const { file, strength } of loras) {
      if (!Number.isFinite(strength)) throw new LoraError(`${file}: strength ${strength} is not a finite number`);
      const lora = await SafetensorsFile.open(file);
      opened.push(lora);
      registerUpdates(lora, strength, store, resolve);
      merged.push({ file: path.basename(file), strength, sha256: await sha256(file) });
    }
    return { merged, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Maps a LoRA's module name to the base DiT module it updates (official name, without `.weight`). */
function moduleResolver(store: WeightStore): (module: string) => string | undefined {
  // kohya flattens the module path with underscores, from either layout's names.
  const flattened = new Map<string, string>();
  for (const key of store.keys().filter((k) => k.endsWith(WEIGHT))) {
    const official = key.slice(0, -WEIGHT.length);
    flattened.set(official.replaceAll(".", "_"), official);
    flattened.set(ditKeyToDiffusers(key).slice(0, -WEIGHT.length).replaceAll(".", "_"), official);
  }
  return (name) => {
    if (name.startsWith(KOHYA_PREFIX)) return flattened.get(name.slice(KOHYA_PREFIX.length));
    const prefix = MODULE_PREFIXES.find((p) => name.startsWith(p)) ?? "";
    const weight = ditKeyFromDiffusers(name.slice(prefix.length) + WEIGHT);
    return store.has(weight) ? weight.slice(0, -WEIGHT.length) : undefined;
  };
}

/** The LoRA's keys grouped by module: module name → part → key. */
function modules(lora: SafetensorsFile): Map<string, Partial<Record<Part, string>>> {
  const byModule = new Map<string, Partial<Record<Part, string>>>();
  for (const key of lora.tensors.keys()) {
    const match = SUFFIXES.find(([suffix]) => key.endsWith(suffix));
    if (!match) {
      throw new LoraError(
        `${lora.path}: unknown LoRA key ${key} (expected <module>.lora_A/lora_B.weight, .lora_down/lora_up.weight, .alpha, .diff or .diff_b)`,
      );
    }
    if (!isFloat(lora.info(key).dtype)) throw new LoraError(`${lora.path}: ${key} has dtype ${lora.info(key).dtype}, expected a float type`);
    const [suffix, part] = match;
    const name = key.slice(0, -suffix.length);
    byModule.set(name, { ...byModule.get(name), [part]: key });
  }
  if (!byModule.size) throw new LoraError(`${lora.path}: the file holds no tensors`);
  return byModule;
}

function registerUpdates(lora: SafetensorsFile, strength: number, store: WeightStore, resolve: (m: string) => string | undefined): void {
  const fail: (message: string) => never = (message) => {
    throw new LoraError(`${lora.path}: ${message}`);
  };
  for (const [name, parts] of modules(lora)) {
    const anyKey = Object.values(parts)[0];
    const target = resolve(name);
    if (target === undefined) fail(`${anyKey} targets ${name}, which the base DiT does not have`);
    const weight = `${target}${WEIGHT}`;
    const wShape = store.info(weight).shape;

    if (parts.down || parts.up || parts.alpha) {
      const { down, up, alpha } = parts;
      if (!down || !up) fail(`${anyKey} has no matching ${down ? "up (B)" : "down (A)"} matrix`);
      // A is [rank, in…] and B is [out, rank, 1…]: a Linear's [out, in] or a convolution's [out, in, k…].
      const [a, b] = [lora.info(down).shape, lora.info(up).shape];
      const rank = a[0];
      if (a.length < 2 || b.length < 2 || b[1] !== rank || count(b.slice(2)) !== 1 || b[0] !== wShape[0] || count(a.slice(1)) !== count(wShape.slice(1))) {
        fail(`${down} [${a}] and ${up} [${b}] do not fit ${weight} [${wShape}]`);
      }
      if (alpha && count(lora.info(alpha).shape) !== 1) fail(`${alpha} has shape [${lora.info(alpha).shape}], expected one value`);
      // Strength 0 is checked but adds nothing, so the weights stay bit for bit (−0 + 0 would turn into +0).
      if (strength !== 0) {
        store.patch(weight, async (w) => {
          const scale = (strength * (alpha ? (await lora.readFloat32(alpha))[0] : rank)) / rank;
          addLowRank(w, await lora.readFloat32(up), await lora.readFloat32(down), rank, scale);
        });
      }
    }
    for (const [key, into] of [[parts.diff, weight], [parts.diffBias, `${target}.bias`]] as const) {
      if (!key) continue;
      if (!store.has(into)) fail(`${key} targets ${into}, which the base DiT does not have`);
      const [d, t] = [lora.info(key).shape, store.info(into).shape];
      if (d.length !== t.length || d.some((n, i) => n !== t[i])) fail(`${key} has shape [${d}], but ${into} is [${t}]`);
      if (strength !== 0) {
        store.patch(into, async (w) => {
          const diff = await lora.readFloat32(key);
          for (let i = 0; i < w.length; i++) w[i] += strength * diff[i];
        });
      }
    }
  }
}

/** w [out, in] += scale · up [out, rank] · down [rank, in], each row summed in float64 before it is added. */
function addLowRank(w: Float32Array, up: Float32Array, down: Float32Array, rank: number, scale: number): void {
  const cols = down.length / rank;
  const row = new Float64Array(cols);
  for (let o = 0; o < w.length / cols; o++) {
    row.fill(0);
    for (let r = 0; r < rank; r++) {
      const b = up[o * rank + r];
      for (let i = 0, at = r * cols; i < cols; i++) row[i] += b * down[at + i];
    }
    for (let i = 0, at = o * cols; i < cols; i++) w[at + i] += scale * row[i];
  }
}

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
