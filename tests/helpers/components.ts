/**
 * Running engine components (lib/engine/components.ts, what `npm run engine` runs) on golden inputs.
 */
import { prepareComponent, type ComponentOptions, type Tensors } from "../../lib/engine/components.ts";
import type { ResolvedRuntime } from "../../lib/engine/runtime.ts";
import { goldens } from "./fixtures.ts";

/** Named tensors from a goldens file, renamed for a component's inputs ({ input: goldenName }). */
export async function goldenInputs(file: string, names: Record<string, string>): Promise<Tensors> {
  const G = await goldens(file);
  const out: Tensors = new Map();
  for (const [as, name] of Object.entries(names)) {
    const info = G.info(name);
    out.set(as, {
      shape: info.shape,
      data: info.dtype === "int64" ? new BigInt64Array((await G.read(name)).slice().buffer) : await G.readFloat32(name),
    });
  }
  return out;
}

/** Prepares a component, runs it once on `inputs` and releases it. */
export async function runComponent(
  runtime: ResolvedRuntime,
  name: string,
  model: string | undefined,
  inputs: Tensors,
  opts: Omit<ComponentOptions, "model"> = {},
): Promise<Tensors> {
  const c = await prepareComponent(name, { model, ...opts }, runtime);
  try {
    return await c.run(inputs);
  } finally {
    await c.release();
  }
}
