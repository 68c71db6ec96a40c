/**
 * The state a sampling component carries from one denoising step to the next, in the one form checkpoints
 * (checkpoint.ts) store: plain numbers (orders, counters, accumulated estimates, kept exactly as float64) and
 * float32 arrays (multistep history, cached residuals). Components save it after a finished step and restore it
 * into a fresh instance built with the same settings, so the next step computes exactly what it would have.
 */
export type StateRecord = {
  /** Numbers and lists of numbers by name; non-finite values are allowed. */
  values: Record<string, number | number[]>;
  /** Float32 arrays by name; the arrays are never modified after saving, so they are shared, not copied. */
  arrays: Record<string, Float32Array>;
};

export const emptyState = (): StateRecord => ({ values: {}, arrays: {} });

/** A restored state that does not fit the component it is restored into. */
export class StateMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StateMismatchError";
  }
}

/** The number named `name`; throws StateMismatchError when it is missing or not a number. */
export function stateNumber(state: StateRecord, name: string): number {
  const v = state.values[name];
  if (typeof v !== "number") throw new StateMismatchError(`the saved state has no number "${name}"`);
  return v;
}

/** The float32 array named `name` of `length` values, or undefined when it was not saved (empty history). */
export function stateArray(state: StateRecord, name: string, length?: number): Float32Array | undefined {
  const a = state.arrays[name];
  if (a && length !== undefined && a.length !== length) {
    throw new StateMismatchError(`the saved array "${name}" has ${a.length} values, expected ${length}`);
  }
  return a;
}
