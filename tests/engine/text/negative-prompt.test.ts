import { describe, expect, it } from "vitest";
import {
  DEFAULT_NEGATIVE_PROMPT,
  DEFAULT_NEGATIVE_PROMPT_ENGLISH,
  FLF2V_NEGATIVE_PREFIX,
  I2V_NEGATIVE_PREFIX,
  effectiveNegativePrompt,
} from "../../../lib/engine/text/negative-prompt.ts";

describe("official default negative prompt", () => {
  it("is Wan's sample_neg_prompt: 137 characters, 403 UTF-8 bytes, 28 items", () => {
    expect([...DEFAULT_NEGATIVE_PROMPT].length).toBe(137);
    expect(Buffer.byteLength(DEFAULT_NEGATIVE_PROMPT, "utf8")).toBe(403);
    const items = DEFAULT_NEGATIVE_PROMPT.split("，");
    expect(items).toHaveLength(28);
    expect(items.every((item) => item.length > 0)).toBe(true);
    expect(DEFAULT_NEGATIVE_PROMPT.startsWith("色调艳丽，过曝，静态，细节模糊不清，字幕，")).toBe(true);
    expect(DEFAULT_NEGATIVE_PROMPT.endsWith("杂乱的背景，三条腿，背景人很多，倒着走")).toBe(true);
    expect(items).toContain("JPEG压缩残留");
  });

  it("has an English rendering with the same 28 items", () => {
    const items = DEFAULT_NEGATIVE_PROMPT_ENGLISH.split(", ");
    expect(items).toHaveLength(28);
    expect(items[0]).toBe("Bright tones");
    expect(items[13]).toBe("JPEG compression residue");
    expect(items[27]).toBe("walking backwards");
  });

  it("uses the default only for an absent or empty negative prompt, prefixed per mode", () => {
    expect(I2V_NEGATIVE_PREFIX).toBe("镜头晃动，");
    expect(effectiveNegativePrompt(undefined)).toBe(DEFAULT_NEGATIVE_PROMPT);
    expect(effectiveNegativePrompt("")).toBe(DEFAULT_NEGATIVE_PROMPT);
    expect(effectiveNegativePrompt("", "i2v")).toBe(`镜头晃动，${DEFAULT_NEGATIVE_PROMPT}`);
    expect(effectiveNegativePrompt("", "flf2v")).toBe(`${FLF2V_NEGATIVE_PREFIX}${DEFAULT_NEGATIVE_PROMPT}`);
    expect(effectiveNegativePrompt("blurry", "i2v")).toBe("blurry");
    // WAN compares with "" exactly: spaces are a (blank) user prompt, not a request for the default.
    expect(effectiveNegativePrompt("  ")).toBe("  ");
  });
});
