/**
 * Step caching for the Wan DiT: the output of its blocks changes little between neighbouring denoising steps, so
 * a pass may skip the blocks and add the residual (tokens after the blocks − tokens before) of its last computed
 * call instead. The embedding and the head run on every call, so a skipped call costs only those (the stage
 * graphs of models/wan/dit.ts). The classifier-free-guidance passes keep separate residuals. The rule deciding
 * when to compute is a subclass: TeaCache (teacache.ts) or MagCache (magcache.ts); speed.ts picks one.
 */
import { StateMismatchError, stateNumber, type StateRecord } from "./state-record.ts";

/** How many DiT passes a generation made and how many of them reused a cached residual instead of the blocks. */
export type DiTCallCount = { calls: number; skipped: number };

/** The decision for one pass of one step, and the rule's accumulated estimate after it (0 when the blocks ran). */
export type CacheDecision = { compute: boolean; distance: number };

/**
 * What every step cache shares: per pass (batch element: 0 conditional, 1 unconditional) the residual of its
 * last computed call, the counts, and the decisions in call order. A rule decides when to compute.
 */
export abstract class StepCache {
  /** The modulated input the rule measures (from the embedding stage), or null when it needs none. */
  abstract readonly measures: "e" | "e0" | null;
  private readonly residuals = new Map<number, Float32Array>();
  private readonly counts: DiTCallCount = { calls: 0, skipped: 0 };
  /** Every decision in call order (per step: pass 0, then pass 1), for parity checks. */
  readonly decisions: CacheDecision[] = [];

  /** `totalSteps`: the steps this run makes (from its first step to the last). */
  constructor(protected readonly totalSteps: number) {}

  get count(): DiTCallCount {
    return { ...this.counts };
  }

  /**
   * Decides whether pass `pass` of step `step` (0-based within this run) runs the blocks, given its modulated
   * input when the rule measures one. A pass without a cached residual always computes.
   */
  decide(pass: number, step: number, modulated?: Float32Array): CacheDecision {
    const decision = this.rule(pass, step, modulated, this.residuals.has(pass));
    this.counts.calls++;
    if (!decision.compute) this.counts.skipped++;
    this.decisions.push(decision);
    return decision;
  }

  /**
   * Everything later decisions and skipped passes depend on (for a checkpoint, checkpoint.ts): each pass's cached
   * residual, the rule's per-pass state, the counts and the decisions so far. The residuals are the bulk: one
   * [tokens, dim] array per pass (see docs/checkpoints.md for why they are stored rather than recomputed).
   */
  saveState(): StateRecord {
    const state = this.saveRule();
    for (const [pass, residual] of this.residuals) state.arrays[`residual.${pass}`] = residual;
    state.values.totalSteps = this.totalSteps;
    state.values.calls = this.counts.calls;
    state.values.skipped = this.counts.skipped;
    state.values.decisionCompute = this.decisions.map((d) => (d.compute ? 1 : 0));
    state.values.decisionDistance = this.decisions.map((d) => d.distance);
    return state;
  }

  /** Puts a saved state into this cache, built with the same settings and not used yet. */
  restoreState(state: StateRecord): void {
    if (this.counts.calls) throw new Error("restoreState needs a step cache that has not decided yet");
    if (stateNumber(state, "totalSteps") !== this.totalSteps) {
      throw new StateMismatchError(`the saved step cache was for ${String(state.values.totalSteps)} steps, this run has ${this.totalSteps}`);
    }
    const compute = state.values.decisionCompute;
    const distance = state.values.decisionDistance;
    if (!Array.isArray(compute) || !Array.isArray(distance) || compute.length !== distance.length) {
      throw new StateMismatchError("the saved step cache has no decisions");
    }
    this.restoreRule(state);
    for (const [name, residual] of Object.entries(state.arrays)) {
      const pass = /^residual\.(\d+)$/.exec(name);
      if (pass) this.residuals.set(Number(pass[1]), residual);
    }
    this.counts.calls = stateNumber(state, "calls");
    this.counts.skipped = stateNumber(state, "skipped");
    this.decisions.push(...compute.map((c, k) => ({ compute: c === 1, distance: distance[k] })));
  }

  /** The rule's own per-pass state. */
  protected abstract saveRule(): StateRecord;
  protected abstract restoreRule(state: StateRecord): void;

  protected abstract rule(pass: number, step: number, modulated: Float32Array | undefined, hasResidual: boolean): CacheDecision;

  /** Keeps the residual of a computed pass: tokens after the blocks − tokens before, in float32. */
  keepResidual(pass: number, before: Float32Array, after: Float32Array): void {
    const residual = new Float32Array(after.length);
    for (let i = 0; i < residual.length; i++) residual[i] = after[i] - before[i];
    this.residuals.set(pass, residual);
  }

  /** A skipped pass: the embedded tokens plus the residual of the pass's last computed call. */
  applyResidual(pass: number, tokens: Float32Array): Float32Array {
    const residual = this.residuals.get(pass);
    if (!residual || residual.length !== tokens.length) throw new Error(`pass ${pass} has no cached residual of this size`);
    const out = new Float32Array(tokens.length);
    for (let i = 0; i < out.length; i++) out[i] = tokens[i] + residual[i];
    return out;
  }
}

