/**
 * A job's DiT pass counts (how many the `speed` setting's step caching skipped). They are stored in the job's
 * timings JSON beside the seconds of each phase, under the two keys below, so no database column is needed;
 * readers split them apart again with `splitTimings`.
 */
export const DIT_CALL_KEYS = { calls: "ditCalls", skipped: "ditCallsSkipped" } as const;

export type DiTCalls = { calls: number; skipped: number };

/** The counts as timings entries. */
export function ditCallTimings(count: DiTCalls): Record<string, number> {
  return { [DIT_CALL_KEYS.calls]: count.calls, [DIT_CALL_KEYS.skipped]: count.skipped };
}

/** A job's timings JSON as the seconds of each phase and, when recorded, the DiT pass counts. */
export function splitTimings(timings: Record<string, number>): { phases: Record<string, number>; ditCalls: DiTCalls | null } {
  const { [DIT_CALL_KEYS.calls]: calls, [DIT_CALL_KEYS.skipped]: skipped, ...phases } = timings;
  return { phases, ditCalls: calls === undefined ? null : { calls, skipped: skipped ?? 0 } };
}
