import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES } from "../../helpers/fixtures.ts";
import { padContext } from "../../../lib/engine/text/context.ts";
import { SafetensorsFile } from "../../../models/weights/safetensors.ts";

const TEXT_LEN = 16; // the tiny T2V model's text length (fixtures README)
const TEXT_DIM = 32;

describe("context zero-padding (official wan/modules/model.py, WanModel.forward (text_embedding of the zero-padded context))", () => {
  let goldens: SafetensorsFile;
  beforeAll(async () => {
    goldens = await SafetensorsFile.open(path.join(FIXTURES, "goldens.safetensors"));
  });
  afterAll(async () => {
    await goldens?.close();
  });

  it.each(["dit_case1", "dit_case2", "dit_case3", "dit_case4"])(
    "%s: pads the trimmed context exactly as the official forward does",
    async (name) => {
      const context = await goldens.readFloat32(`${name}_context`);
      const expected = await goldens.readFloat32(`${name}_context_padded`);
      const rows = context.length / TEXT_DIM;
      const padded = padContext(context, rows, TEXT_DIM, TEXT_LEN);
      expect(padded.length).toBe(TEXT_LEN * TEXT_DIM);
      expect(Array.from(padded)).toEqual(Array.from(expected));
    },
  );

  it("copies the rows, zeroes the rest and leaves the input alone", () => {
    const hidden = Float32Array.from({ length: 3 * 4 }, (_, i) => i + 1);
    const padded = padContext(hidden, 3, 4, 5);
    expect(Array.from(padded.subarray(0, 12))).toEqual(Array.from(hidden));
    expect(Array.from(padded.subarray(12))).toEqual(new Array(8).fill(0));
    padded[0] = 99;
    expect(hidden[0]).toBe(1);
  });

  it("rejects more rows than the text length and data that does not match the shape", () => {
    expect(() => padContext(new Float32Array(6 * 2), 6, 2, 5)).toThrow(/6 rows but the text length is 5/);
    expect(() => padContext(new Float32Array(7), 3, 2, 5)).toThrow(/7 floats, expected 3×2/);
    expect(() => padContext(new Float32Array(0), 0, 2, 0)).toThrow(/Invalid context shape/);
  });

  it("pads an empty context to all zeros", () => {
    expect(Array.from(padContext(new Float32Array(0), 0, 2, 3))).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
