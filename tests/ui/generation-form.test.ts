import { describe, expect, it } from "vitest";
import type { JobView, ModelView } from "../../lib/ui/api-types.ts";
import {
  defaultValues,
  formFieldFor,
  maxValidFrames,
  parseStoredValues,
  reconcile,
  restoreValues,
  switchModel,
  validateForm,
  valuesFromJob,
} from "../../lib/ui/generation-form.ts";
import { defaultNegativeFor, englishRendering } from "../../lib/ui/negative-prompt.ts";
import { DEFAULT_NEGATIVE_PROMPT, DEFAULT_NEGATIVE_PROMPT_ENGLISH } from "../../lib/engine/text/negative-prompt.ts";
import { TINY_DEFAULTS, WAN_1_3B_DEFAULTS } from "../../models/manifest.ts";

const wan: ModelView = {
  name: "wan2.1-t2v-1.3b",
  variant: "t2v",
  tiny: false,
  defaults: WAN_1_3B_DEFAULTS,
  defaultNegativePrompt: DEFAULT_NEGATIVE_PROMPT,
  imageToVideo: "first-frame",
  default: true,
  precision: "fp16",
  sizeBytes: 0,
  source: "hf://Wan-AI/Wan2.1-T2V-1.3B-Diffusers@main",
  installedAt: "2026-01-01T00:00:00.000Z",
};
const tiny: ModelView = { ...wan, name: "tiny", tiny: true, defaults: TINY_DEFAULTS, default: false };

describe("form defaults and validation with the shared schema", () => {
  it("starts from the model's defaults and produces the POST /api/jobs body", () => {
    const v = { ...defaultValues(wan), prompt: "  a red fox in the snow  " };
    const r = validateForm(v, "t2v", DEFAULT_NEGATIVE_PROMPT);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.body).toEqual({
      kind: "t2v",
      model: "wan2.1-t2v-1.3b",
      prompt: "a red fox in the snow",
      width: 832,
      height: 480,
      frames: 81,
      steps: 50,
      guidance: 6,
      shift: 8,
      solver: "unipc",
      grid: "official",
      speed: "exact",
    });
  });

  it("reports each invalid field with the schema's message", () => {
    const v = { ...defaultValues(wan), prompt: "   ", steps: "500", guidance: "abc", seed: "-3" };
    const r = validateForm(v, "t2v", DEFAULT_NEGATIVE_PROMPT);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.prompt).toBe("prompt must not be empty");
    expect(r.errors.steps).toBe("steps must be at most 100");
    expect(r.errors.guidance).toBe("guidance must be a number");
    expect(r.errors.seed).toBe("seed must be ≥ 0");
    expect(r.errors.shift).toBeUndefined();
  });

  it("reports a size that is not a multiple of 16 on the size field", () => {
    const r = validateForm({ ...defaultValues(wan), prompt: "x", width: 830 }, "t2v", DEFAULT_NEGATIVE_PROMPT);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.size).toBe("width must be a multiple of 16");
  });

  it("sends the negative prompt only when it differs from the default; empty means none", () => {
    const base = { ...defaultValues(wan), prompt: "x" };
    const same = validateForm({ ...base, negativePrompt: DEFAULT_NEGATIVE_PROMPT }, "t2v", DEFAULT_NEGATIVE_PROMPT);
    expect(same.ok && "negativePrompt" in same.body).toBe(false);
    const none = validateForm({ ...base, negativePrompt: "" }, "t2v", DEFAULT_NEGATIVE_PROMPT);
    expect(none.ok && none.body.negativePrompt).toBe("");
    const own = validateForm({ ...base, negativePrompt: "blurry" }, "t2v", DEFAULT_NEGATIVE_PROMPT);
    expect(own.ok && own.body.negativePrompt).toBe("blurry");
  });

  it("sends a typed seed as a number and leaves an empty one out (random)", () => {
    const base = { ...defaultValues(wan), prompt: "x" };
    const fixed = validateForm({ ...base, seed: "42" }, "t2v", DEFAULT_NEGATIVE_PROMPT);
    expect(fixed.ok && fixed.body.seed).toBe(42);
    const random = validateForm(base, "t2v", DEFAULT_NEGATIVE_PROMPT);
    expect(random.ok && "seed" in random.body).toBe(false);
  });

  it("needs the upload for image- and video-to-video, and a strength within 0…1", () => {
    const base = { ...defaultValues(wan), prompt: "x" };
    const noImage = validateForm(base, "i2v", DEFAULT_NEGATIVE_PROMPT);
    expect(!noImage.ok && noImage.errors.image).toBe("choose an image first");
    const i2v = validateForm(base, "i2v", DEFAULT_NEGATIVE_PROMPT, { imageUploadId: "upl-12345678", fit: "pad" });
    expect(i2v.ok && i2v.body).toMatchObject({ kind: "i2v", imageUploadId: "upl-12345678", fit: "pad", width: 832, height: 480 });
    const badStrength = validateForm(base, "v2v", DEFAULT_NEGATIVE_PROMPT, { videoUploadId: "v-12345678", strength: 1.5 });
    expect(!badStrength.ok && badStrength.errors.strength).toBe("strength must be between 0 and 1");
    const v2v = validateForm(base, "v2v", DEFAULT_NEGATIVE_PROMPT, { videoUploadId: "v-12345678", strength: 0.4 });
    expect(v2v.ok && v2v.body).toMatchObject({ kind: "v2v", videoUploadId: "v-12345678", strength: 0.4 });
  });

  it("maps server error fields to form fields", () => {
    expect(formFieldFor("width")).toBe("size");
    expect(formFieldFor("height")).toBe("size");
    expect(formFieldFor("seconds")).toBe("frames");
    expect(formFieldFor("imageUploadId")).toBe("image");
    expect(formFieldFor("videoUploadId")).toBe("video");
    expect(formFieldFor("steps")).toBe("steps");
    expect(formFieldFor(undefined)).toBe("form");
    expect(formFieldFor("body")).toBe("form");
  });
});

describe("models, remembered settings and reuse", () => {
  it("keeps values valid for the selected model", () => {
    const v = reconcile({ ...defaultValues(wan), frames: 81 }, tiny);
    expect(v.width).toBe(160);
    expect(v.height).toBe(96);
    expect(v.frames).toBe(33);
    expect(maxValidFrames(tiny)).toBe(33);
    expect(reconcile({ ...defaultValues(tiny), frames: 12 }, tiny).frames).toBe(TINY_DEFAULTS.frames);
  });

  it("keeps a distilled sampler only on the model distilled for it", () => {
    const rcm: ModelView = { ...tiny, name: "tiny-rcm", defaults: { ...TINY_DEFAULTS, solver: "rcm", steps: 4, guidance: 1 } };
    const distilled = { ...rcm, recipe: { name: "rcm" as const, label: "rCM", solver: "rcm" as const, steps: 4, guidance: 1 } };
    expect(reconcile(defaultValues(distilled), distilled).solver).toBe("rcm");
    expect(reconcile(defaultValues(distilled), tiny).solver).toBe(TINY_DEFAULTS.solver);
    expect(reconcile({ ...defaultValues(tiny), solver: "euler" }, distilled).solver).toBe("euler");
  });

  it("switching model takes its defaults but keeps the prompt and seed", () => {
    const v = switchModel({ ...defaultValues(wan), prompt: "p", seed: "7", steps: "30" }, tiny);
    expect(v).toMatchObject({ prompt: "p", seed: "7", steps: "8", model: "tiny", width: 160 });
  });

  it("reads localStorage defensively", () => {
    expect(parseStoredValues(null)).toEqual({});
    expect(parseStoredValues("{not json")).toEqual({});
    expect(parseStoredValues(JSON.stringify({ steps: 5 }))).toEqual({});
    expect(parseStoredValues(JSON.stringify({ prompt: "p", solver: "euler" }))).toEqual({ prompt: "p", solver: "euler" });
  });

  it("restores remembered values for the same model, and only the text for another one", () => {
    const saved = { model: "tiny", prompt: "p", steps: "4", width: 128, height: 128 };
    expect(restoreValues([wan, tiny], saved, wan)).toMatchObject({ model: "tiny", steps: "4", width: 128, height: 128, prompt: "p" });
    const gone = restoreValues([wan], saved, wan);
    expect(gone).toMatchObject({ model: wan.name, steps: "50", width: 832, prompt: "p" });
  });

  it("fills the form from a job: its settings and the seed it actually used", () => {
    const job = {
      id: "job-12345678",
      kind: "i2v",
      status: "succeeded",
      prompt: "a boat",
      negativePrompt: DEFAULT_NEGATIVE_PROMPT,
      params: { width: 480, height: 832, frames: 49, steps: 30, guidance: 5.5, shift: 3, solver: "dpmpp", grid: "diffusers", speed: "faster", fit: "pad" },
      seed: 1234,
      model: "wan2.1-t2v-1.3b",
      inputUploadId: "upl-12345678",
    } as unknown as JobView;
    expect(valuesFromJob(job)).toEqual({
      prompt: "a boat",
      model: "wan2.1-t2v-1.3b",
      negativePrompt: null,
      width: 480,
      height: 832,
      frames: 49,
      steps: "30",
      guidance: "5.5",
      shift: "3",
      solver: "dpmpp",
      grid: "diffusers",
      speed: "faster",
      seed: "1234",
      imageUploadId: "upl-12345678",
      fit: "pad",
    });
  });
});

describe("default negative prompt display", () => {
  it("adds the camera-shake prefix only for image-to-video on an i2v model, and renders the default in English", () => {
    const i2vModel = { ...wan, variant: "i2v" as const, defaultNegativePrompt: "镜头晃动，" + DEFAULT_NEGATIVE_PROMPT };
    expect(defaultNegativeFor(wan, "t2v")).toBe(DEFAULT_NEGATIVE_PROMPT);
    expect(defaultNegativeFor(wan, "i2v")).toBe(DEFAULT_NEGATIVE_PROMPT);
    expect(defaultNegativeFor(i2vModel, "i2v")).toBe("镜头晃动，" + DEFAULT_NEGATIVE_PROMPT);
    expect(defaultNegativeFor(i2vModel, "v2v")).toBe("镜头晃动，" + DEFAULT_NEGATIVE_PROMPT);
    expect(englishRendering(DEFAULT_NEGATIVE_PROMPT)).toBe(DEFAULT_NEGATIVE_PROMPT_ENGLISH);
    expect(englishRendering(defaultNegativeFor(i2vModel, "i2v"))).toMatch(/^Camera shake, Bright tones/);
    expect(englishRendering("blurry")).toBeNull();
  });
});
