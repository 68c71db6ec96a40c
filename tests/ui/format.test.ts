import { describe, expect, it } from "vitest";
import {
  aspectLabel,
  aspectRatioName,
  durationChoices,
  durationLabel,
  fitSummary,
  formatBytes,
  formatDuration,
  percent,
  phaseLabel,
  jobTitle,
  promptExcerpt,
  relativeTime,
  snapSecondsToFrames,
  decodedFrames,
} from "../../lib/ui/format.ts";
import { WAN_1_3B_DEFAULTS, TINY_DEFAULTS } from "../../models/manifest.ts";

describe("aspect labels", () => {
  it("names Wan's 1.3B presets the way people say them", () => {
    const labels = WAN_1_3B_DEFAULTS.sizes.map(([w, h]) => aspectLabel(w, h));
    expect(labels).toEqual(["16:9 · 832×480", "9:16 · 480×832", "1:1 · 624×624", "4:3 · 704×544", "3:4 · 544×704"]);
  });

  it("names the tiny model's presets too", () => {
    expect(TINY_DEFAULTS.sizes.map(([w, h]) => aspectRatioName(w, h))).toEqual(["5:3", "3:5", "1:1", "5:4", "4:5"]);
  });

  it("falls back to the reduced fraction when no common ratio is close", () => {
    expect(aspectRatioName(1120, 320)).toBe("7:2");
    expect(aspectRatioName(320, 1120)).toBe("2:7");
  });

  it("rejects empty sizes", () => {
    expect(() => aspectRatioName(0, 480)).toThrow(RangeError);
  });
});

describe("durations", () => {
  it("labels frame counts with seconds at the model's fps", () => {
    expect(durationLabel(81, 16)).toBe("81 frames · 5.1 s");
    expect(durationLabel(33, 16)).toBe("33 frames · 2.1 s");
    expect(durationLabel(17, 16)).toBe("17 frames · 1.1 s");
    expect(durationLabel(1, 16)).toBe("1 frame · still image");
  });

  it("offers every 4k+1 frame count from 5 up to the model's maximum", () => {
    const choices = durationChoices(16, 81);
    expect(choices[0]).toEqual({ frames: 5, seconds: 5 / 16 });
    expect(choices.at(-1)).toEqual({ frames: 81, seconds: 81 / 16 });
    expect(choices.every((c) => (c.frames - 1) % 4 === 0)).toBe(true);
    expect(choices).toHaveLength(20);
  });

  it("snaps typed seconds to valid frame counts within the model's maximum", () => {
    expect(snapSecondsToFrames(5, 16, 81)).toBe(81);
    expect(snapSecondsToFrames(2, 16, 81)).toBe(33);
    expect(snapSecondsToFrames(10, 16, 81)).toBe(81);
    expect(snapSecondsToFrames(10, 16, 35)).toBe(33);
    // −3, 0 or "abc" typed in the box are no duration: refused, not turned into a one-frame still.
    expect(snapSecondsToFrames(0, 16, 81)).toBeNull();
    expect(snapSecondsToFrames(-3, 16, 81)).toBeNull();
    expect(snapSecondsToFrames(Number("abc"), 16, 81)).toBeNull();
    // A tiny positive duration is the shortest clip the slider offers.
    expect(snapSecondsToFrames(0.01, 16, 81)).toBe(5);
  });

  it("counts decoding in video frames, not latent frames", () => {
    expect([0, 1, 2, 3, 9, 21].map(decodedFrames)).toEqual([0, 1, 5, 9, 33, 81]);
  });

  it("formats ETAs and timings", () => {
    expect(formatDuration(0.42)).toBe("0.4 s");
    expect(formatDuration(12.4)).toBe("12 s");
    expect(formatDuration(185)).toBe("3 min 05 s");
    expect(formatDuration(3720)).toBe("1 h 02 min");
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(-1)).toBe("—");
  });
});

describe("progress and text", () => {
  it("shows whole percents in the tab title", () => {
    expect(percent(0.4239)).toBe(42);
    expect(percent(1.2)).toBe(100);
    expect(percent(undefined)).toBe(0);
    expect(jobTitle({ status: "running", progress: 0.42, prompt: "x" })).toBe("42%");
  });

  it("titles a job page by its state, and by its prompt once it succeeded (server and page alike)", () => {
    expect(jobTitle({ status: "queued", prompt: "a city at night" })).toBe("Queued");
    expect(jobTitle({ status: "failed", prompt: "a city at night" })).toBe("Failed");
    expect(jobTitle({ status: "canceled", prompt: "a city at night" })).toBe("Canceled");
    expect(jobTitle({ status: "succeeded", prompt: "a city at night" })).toBe("a city at night");
  });

  it("names phases", () => {
    expect(phaseLabel("denoise")).toBe("Denoising");
    expect(phaseLabel("decode")).toBe("Decoding frames");
    expect(phaseLabel(null)).toBe("Starting");
    expect(phaseLabel("upscale")).toBe("Upscale");
  });

  it("shortens prompts to their first line", () => {
    expect(promptExcerpt("a cat\nsecond line")).toBe("a cat");
    expect(promptExcerpt("x".repeat(100), 10)).toBe("xxxxxxxxx…");
  });

  it("says how long ago", () => {
    const now = new Date("2026-01-10T12:00:00Z");
    expect(relativeTime("2026-01-10T11:59:50Z", now)).toBe("just now");
    expect(relativeTime("2026-01-10T11:55:00Z", now)).toBe("5 min ago");
    expect(relativeTime("2026-01-10T09:00:00Z", now)).toBe("3 h ago");
    expect(relativeTime("2026-01-09T12:00:00Z", now)).toBe("1 day ago");
    expect(relativeTime("2025-12-01T12:00:00Z", now)).toBe("2025-12-01");
  });
});

describe("fit captions", () => {
  it("says how much crop cuts and pad adds, in output pixels", () => {
    const out = { width: 832, height: 464 };
    expect(fitSummary({ width: 1920, height: 1080 }, out, "crop")).toBe("Crops 2 px from the top and bottom");
    expect(fitSummary({ width: 1920, height: 1080 }, out, "pad")).toBe("Adds 4 px bars left and right");
    expect(fitSummary({ width: 1000, height: 2000 }, { width: 832, height: 480 }, "crop")).toBe("Crops 592 px from the top and bottom");
    expect(fitSummary({ width: 832, height: 480 }, { width: 832, height: 480 }, "crop")).toBe("Fits exactly: nothing is cropped");
    expect(fitSummary({ width: 2000, height: 1000 }, { width: 832, height: 480 }, "pad")).toBe("Adds 32 px bars at the top and bottom");
  });

  it("formats byte counts", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3 MB");
  });
});
