import { describe, expect, it } from "vitest";
import { continueSettingsOf } from "../../lib/ui/chain.ts";
import { isContinuation, JOB_ORIGINS, jobOrigin, ORIGIN_CHIPS, ORIGIN_NAMES, originQuery } from "../../lib/ui/job-origin.ts";

const chain = (part: number) => ({ rootId: "job-1", part, parts: 3, nextIds: [], videoUrl: null });

describe("how a job was made", () => {
  it("calls a continuation continued, not image to video, though it is stored as i2v", () => {
    expect(jobOrigin({ kind: "i2v", chain: chain(2) })).toBe("continued");
    expect(jobOrigin({ kind: "i2v", chain: chain(3) })).toBe("continued");
    expect(ORIGIN_CHIPS[jobOrigin({ kind: "i2v", chain: chain(2) })]).toBe("Continued");
    expect(ORIGIN_NAMES.continued).toBe("Continued clip");
  });

  it("keeps the kind of a clip that continues nothing, the first part of a chain included", () => {
    expect(jobOrigin({ kind: "t2v", chain: null })).toBe("t2v");
    expect(jobOrigin({ kind: "t2v", chain: chain(1) })).toBe("t2v");
    expect(jobOrigin({ kind: "i2v", chain: chain(1) })).toBe("i2v");
    expect(jobOrigin({ kind: "v2v", chain: null })).toBe("v2v");
    expect(isContinuation({ chain: chain(1) })).toBe(false);
    expect(ORIGIN_CHIPS.i2v).toBe("Image");
  });

  it("filters image to video without continuations, and continued clips whatever their first part was", () => {
    expect(JOB_ORIGINS).toEqual(["t2v", "i2v", "v2v", "continued"]);
    expect(originQuery("i2v")).toEqual({ kind: "i2v", continued: "false" });
    expect(originQuery("t2v")).toEqual({ kind: "t2v", continued: "false" });
    expect(originQuery("continued")).toEqual({ continued: "true" });
  });

  it("reuses a continuation's prompt, own settings, model and seed, not its size or kind", () => {
    const body = continueSettingsOf({
      prompt: "the boat sails on",
      model: "wan-tiny",
      seed: 77,
      params: { prompt: "the boat sails on", width: 64, height: 64, kind: "i2v", fit: "crop", frames: 9, steps: 3, guidance: 4, solver: "unipc", priority: "normal" },
    });
    expect(body).toEqual({ prompt: "the boat sails on", model: "wan-tiny", seed: 77, frames: 9, steps: 3, guidance: 4, solver: "unipc" });
    expect(continueSettingsOf({ prompt: "p", model: "m", seed: null, params: { negativePrompt: "blur" } })).toEqual({ prompt: "p", model: "m", negativePrompt: "blur" });
  });
});
