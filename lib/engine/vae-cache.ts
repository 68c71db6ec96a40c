/**
 * The explicit VAE feature cache between graph calls (official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode; the slot tensors are described in
 * models/wan/vae.ts). A first graph's `cache_out.*` seed it; after that
 *   - a step graph's slots ping-pong: `cache_out.<i>` is written into a second pre-allocated set of tensors
 *     and the two sets swap roles after every call (ONNX Runtime cannot write an output over an input);
 *   - a per-frame graph's slots rotate: each slot holds its conv's last two input frames as separate tensors
 *     (`cache_in.<i>.0` older, `.1` newer) and the graph returns only the new frame, written into a third
 *     buffer — three frames per slot instead of the four a ping-pong of 2-frame tensors would hold, and no
 *     frame is ever copied.
 * So memory stays flat however long the video. (onnxruntime-node 1.30 also hands every fetched output back
 * as a fresh copy, pre-allocated or not — checked: writing the returned tensor leaves the fetch buffer as it
 * was. Those copies are dropped at once and collected; pre-allocating still keeps the outputs out of the
 * sessions' arenas, and the per-frame graphs keep each call's copies to one frame per slot.)
 *
 * On a device (WebGPU) the slots are GPU buffers that never come to the host: ONNX Runtime allocates each
 * call's `cache_out.*` on the device (the sessions prefer the device for them, lib/engine/vae.ts), they feed
 * the next call as they are, and a slot's previous buffer is freed as soon as the call that replaced it ran.
 */
import * as ort from "onnxruntime-node";

type Outputs = ort.InferenceSession.OnnxValueMapType;

function indices(names: readonly string[], pattern: RegExp): number[] {
  return names
    .map((n) => pattern.exec(n)?.[1])
    .filter((i) => i !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** A tensor of zeros shaped like `t` (the storage for its next contents). */
function like(t: ort.Tensor): ort.Tensor {
  return new ort.Tensor("float32", new Float32Array(t.size), t.dims);
}

function onDevice(t: ort.Tensor): boolean {
  return t.location === "gpu-buffer";
}

/** The slots of a step graph (every slot of an unsplit one): one tensor per slot, ping-pong. */
export class StepCache {
  readonly slots: number[];
  private current: ort.Tensor[] | undefined;
  private spare: ort.Tensor[] | undefined;

  constructor(private readonly session: ort.InferenceSession) {
    this.slots = indices(session.inputNames, /^cache_in\.(\d+)$/);
  }

  /** Whether the graph returns every slot it reads. */
  get consistent(): boolean {
    return this.slots.every((i) => this.session.outputNames.includes(`cache_out.${i}`));
  }

  seed(first: Outputs): void {
    this.current = this.slots.map((i) => first[`cache_out.${i}`] as ort.Tensor);
  }

  /** Runs the graph on `feeds` plus the cache; `fetches` names the other outputs (with buffers to reuse, or null). */
  async run(feeds: Record<string, ort.Tensor>, fetches: Record<string, ort.Tensor | null>): Promise<Outputs> {
    const current = this.current;
    if (!current) throw new Error("VAE step cache used before the first graph ran");
    const device = current.some(onDevice);
    if (!device) this.spare ??= current.map(like);
    const inputs: Record<string, ort.Tensor> = { ...feeds };
    const outputs: Record<string, ort.Tensor | null> = { ...fetches };
    this.slots.forEach((i, k) => {
      inputs[`cache_in.${i}`] = current[k];
      outputs[`cache_out.${i}`] = device ? null : this.spare![k];
    });
    const out = await this.session.run(inputs, outputs);
    if (device) {
      this.current = this.slots.map((i) => out[`cache_out.${i}`] as ort.Tensor);
      for (const t of current) t.dispose();
    } else {
      [this.current, this.spare] = [this.spare, current];
    }
    return out;
  }

  /** Drops both sets (the largest allocations of a decode). */
  dispose(): void {
    for (const t of [...(this.current ?? []), ...(this.spare ?? [])]) t.dispose?.();
    this.current = this.spare = undefined;
  }
}

/** The slots of a per-frame graph: the last two input frames of each conv, rotating through three buffers. */
export class FrameCache {
  readonly slots: number[];
  private older: ort.Tensor[] | undefined;
  private newer: ort.Tensor[] | undefined;
  private spare: (ort.Tensor | undefined)[] = [];

  constructor(private readonly session: ort.InferenceSession) {
    this.slots = indices(session.inputNames, /^cache_in\.(\d+)\.0$/);
  }

  get consistent(): boolean {
    const { inputNames, outputNames } = this.session;
    return this.slots.every((i) => inputNames.includes(`cache_in.${i}.1`) && outputNames.includes(`cache_out.${i}`));
  }

  /** A first graph emits a per-frame slot as its single frame; the frame before it is zero (official wan/modules/vae.py, CausalConv3d.forward). */
  seed(first: Outputs): void {
    this.newer = this.slots.map((i) => first[`cache_out.${i}`] as ort.Tensor);
    this.older = this.newer.map(like);
    this.spare = [];
  }

  async run(feeds: Record<string, ort.Tensor>, fetches: Record<string, ort.Tensor | null>): Promise<Outputs> {
    const [older, newer] = [this.older, this.newer];
    if (!older || !newer) throw new Error("VAE per-frame cache used before the first graph ran");
    const device = newer.some(onDevice);
    const fresh = device ? undefined : newer.map((t, k) => (this.spare[k] ??= like(t)));
    const inputs: Record<string, ort.Tensor> = { ...feeds };
    const outputs: Record<string, ort.Tensor | null> = { ...fetches };
    this.slots.forEach((i, k) => {
      inputs[`cache_in.${i}.0`] = older[k];
      inputs[`cache_in.${i}.1`] = newer[k];
      outputs[`cache_out.${i}`] = fresh ? fresh[k] : null;
    });
    const out = await this.session.run(inputs, outputs);
    if (fresh) {
      [this.older, this.newer, this.spare] = [newer, fresh, older];
    } else {
      for (const t of older) t.dispose();
      [this.older, this.newer] = [newer, this.slots.map((i) => out[`cache_out.${i}`] as ort.Tensor)];
    }
    return out;
  }

  dispose(): void {
    for (const t of [...(this.older ?? []), ...(this.newer ?? []), ...this.spare]) t?.dispose?.();
    this.older = this.newer = undefined;
    this.spare = [];
  }
}

/**
 * The caches of one side: the step graph's and (split graph sets) the per-frame graph's, which together must
 * hold exactly the slots the first graph emits. `outputs` lists the first graph's cache outputs to fetch.
 */
export class VaeCache {
  readonly step: StepCache;
  readonly frame: FrameCache | undefined;
  readonly outputs: string[];

  constructor(first: ort.InferenceSession, step: ort.InferenceSession, frame: ort.InferenceSession | undefined, what: string) {
    this.step = new StepCache(step);
    this.frame = frame && new FrameCache(frame);
    const emitted = indices(first.outputNames, /^cache_out\.(\d+)$/);
    const taken = [...this.step.slots, ...(this.frame?.slots ?? [])].sort((a, b) => a - b);
    const ok =
      emitted.length > 0 &&
      emitted.join() === taken.join() &&
      this.step.consistent &&
      (this.frame?.consistent ?? true);
    if (!ok) throw new Error(`the ${what} graphs do not share one cache layout`);
    this.outputs = emitted.map((i) => `cache_out.${i}`);
  }

  seed(first: Outputs): void {
    this.step.seed(first);
    this.frame?.seed(first);
  }

  dispose(): void {
    this.step.dispose();
    this.frame?.dispose();
  }
}
