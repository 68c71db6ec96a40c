import { describe, expect, it } from "vitest";
import { fitPlacement, MAX_SIDE, outputSizeForInput, outputSizeForPreset, presetArea } from "../../lib/images/fit.ts";

/** The reference's formula written out literally (official wan/image2video.py, WanI2V.generate (output size from max_area)), as an independent check. */
function reference(w0: number, h0: number, area: number) {
  const a = h0 / w0;
  const latH = Math.round(Math.floor(Math.floor(Math.sqrt(area * a) / 8) / 2) * 2);
  const latW = Math.round(Math.floor(Math.floor(Math.sqrt(area / a) / 8) / 2) * 2);
  return { width: 8 * latW, height: 8 * latH };
}

describe("output size from the image aspect and the preset's pixel area", () => {
  it("matches worked examples for the 480p budget (832×480 = 399,360 px)", () => {
    const preset = { width: 832, height: 480 };
    expect(presetArea(preset)).toBe(399_360);
    expect(outputSizeForPreset({ width: 1920, height: 1080 }, preset)).toEqual({ width: 832, height: 464 });
    expect(outputSizeForPreset({ width: 1000, height: 1000 }, preset)).toEqual({ width: 624, height: 624 });
    expect(outputSizeForPreset({ width: 3000, height: 4000 }, preset)).toEqual({ width: 544, height: 720 });
    // The preset's own aspect gives back the preset (the float formula would give 832×464 here).
    expect(reference(832, 480, 399_360)).toEqual({ width: 832, height: 464 });
    expect(outputSizeForPreset({ width: 832, height: 480 }, preset)).toEqual(preset);
    expect(outputSizeForPreset({ width: 480, height: 832 }, preset)).toEqual({ width: 480, height: 832 });
  });

  it("only depends on the preset's area, not on its orientation", () => {
    const img = { width: 1280, height: 720 };
    expect(outputSizeForPreset(img, { width: 832, height: 480 })).toEqual(outputSizeForPreset(img, { width: 480, height: 832 }));
  });

  it("agrees with the reference formula and stays within the budget on many aspects", () => {
    for (const area of [160 * 96, 624 * 624, 832 * 480, 1280 * 720]) {
      for (let w = 97; w <= 4000; w += 211) {
        for (let h = 89; h <= 4000; h += 307) {
          const got = outputSizeForInput({ width: w, height: h }, area);
          const ref = reference(w, h, area);
          // The float formula may land one ulp below a multiple of 16 (then it is 16 px smaller); elsewhere equal.
          const onBoundary = [Math.sqrt((area * h) / w), Math.sqrt((area * w) / h)].some(
            (x) => Math.abs(x / 16 - Math.round(x / 16)) < 1e-9,
          );
          if (!onBoundary && ref.width <= MAX_SIDE && ref.height <= MAX_SIDE && ref.width >= 16 && ref.height >= 16) {
            expect(got).toEqual(ref);
          }
          expect(got.width % 16).toBe(0);
          expect(got.height % 16).toBe(0);
          expect(got.width * got.height).toBeLessThanOrEqual(Math.max(area, 16 * MAX_SIDE));
        }
      }
    }
  });

  it("keeps extreme panoramas within the schema's 16…1920 bounds", () => {
    expect(outputSizeForInput({ width: 10_000, height: 1000 }, 399_360)).toEqual({ width: 1920, height: 192 });
    expect(outputSizeForInput({ width: 1, height: 1000 }, 399_360)).toEqual({ width: 16, height: 1920 });
  });

  it("rejects empty sizes and budgets", () => {
    expect(() => outputSizeForInput({ width: 0, height: 10 }, 1000)).toThrow(RangeError);
    expect(() => outputSizeForInput({ width: 10, height: 10 }, 0)).toThrow(RangeError);
  });
});

describe("crop and pad placement", () => {
  const img = { width: 1920, height: 1080 };
  const out = { width: 832, height: 464 };

  it("crop scales to cover and cuts the overflow equally from both sides", () => {
    const p = fitPlacement(img, out, "crop");
    expect(p.target).toEqual({ x: 0, y: 0, width: 832, height: 464 });
    expect(p.source.width).toBe(1920);
    expect(p.source.height).toBe(1071); // 464 / (832/1920)
    expect(p.source.y).toBe(5); // (1080 − 1071) / 2, rounded
    expect(p.source.x).toBe(0);
  });

  it("pad scales to fit inside and centres the image (pillarbox here)", () => {
    const p = fitPlacement(img, out, "pad");
    expect(p.source).toEqual({ x: 0, y: 0, width: 1920, height: 1080 });
    expect(p.target.height).toBe(464);
    expect(p.target.width).toBe(825); // 1920 × 464/1080
    expect(p.target.x).toBe(4);
    expect(p.target.y).toBe(0);
  });

  it("a portrait image in a landscape frame: crop cuts top and bottom, pad adds bars left and right", () => {
    const portrait = { width: 1000, height: 2000 };
    const frame = { width: 832, height: 480 };
    const crop = fitPlacement(portrait, frame, "crop");
    expect(crop.source.width).toBe(1000);
    expect(crop.source.height).toBe(577); // 480 / (832/1000)
    expect(crop.source.y).toBe(712);
    const pad = fitPlacement(portrait, frame, "pad");
    expect(pad.target).toEqual({ x: 296, y: 0, width: 240, height: 480 });
  });
});
