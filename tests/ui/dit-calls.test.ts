/**
 * The DiT pass counts travel in a job's timings JSON beside the phase seconds: written by the processor, split
 * apart again by the job page (its timings card totals only the phases).
 */
import { describe, expect, it } from "vitest";
import { ditCallTimings, splitTimings } from "../../lib/schemas/dit-calls.ts";

describe("DiT pass counts in the timings JSON", () => {
  it("round-trips beside the phases without adding to them", () => {
    const stored = JSON.parse(JSON.stringify({ text: 1.5, denoise: 40, decode: 3, ...ditCallTimings({ calls: 100, skipped: 38 }) }));
    expect(stored).toMatchObject({ ditCalls: 100, ditCallsSkipped: 38 });
    expect(splitTimings(stored)).toEqual({ phases: { text: 1.5, denoise: 40, decode: 3 }, ditCalls: { calls: 100, skipped: 38 } });
  });

  it("reads timings recorded before the counts existed", () => {
    expect(splitTimings({ denoise: 2 })).toEqual({ phases: { denoise: 2 }, ditCalls: null });
  });
});
