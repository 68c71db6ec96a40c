/**
 * The official default negative prompt (docs/model-notes.md#prompt-handling). WAN uses it whenever the user gives no negative
 * prompt; Diffusers uses "" instead. Copied from Wan's `wan/configs/shared_config.py`
 * (`sample_neg_prompt`, Wan-Video/Wan2.1 at 9737cba9): 137 characters, 403 UTF-8 bytes, 28 items
 * separated by the fullwidth comma "，".
 */
export const DEFAULT_NEGATIVE_PROMPT =
  "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，" +
  "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，" +
  "形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走";

/** Image-to-video prepends "camera shake" to the negative prompt (docs/model-notes.md#prompt-handling). */
export const I2V_NEGATIVE_PREFIX = "镜头晃动，";

/** First-last-frame-to-video prepends "shot change" instead (docs/model-notes.md#prompt-handling). */
export const FLF2V_NEGATIVE_PREFIX = "镜头切换，";

/**
 * The English rendering used in Wan's README and Diffusers' examples, item for item. For showing the user
 * what the default means; the model is conditioned on the Chinese text.
 */
export const DEFAULT_NEGATIVE_PROMPT_ENGLISH =
  "Bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, static, " +
  "overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra fingers, " +
  "poorly drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused fingers, still picture, " +
  "messy background, three legs, many people in the background, walking backwards";

/**
 * The negative prompt WAN would use for a request: the user's, unless it is exactly "" (WAN tests
 * `n_prompt == ""`, so a prompt of only spaces is kept and cleans to ""), else the default for the mode
 * (wan/configs: the I2V and FLF2V defaults carry their prefix; a user's prompt is never prefixed).
 */
export function effectiveNegativePrompt(userNegative: string | undefined, mode: "t2v" | "i2v" | "flf2v" = "t2v"): string {
  if (userNegative !== undefined && userNegative !== "") return userNegative;
  if (mode === "i2v") return I2V_NEGATIVE_PREFIX + DEFAULT_NEGATIVE_PROMPT;
  if (mode === "flf2v") return FLF2V_NEGATIVE_PREFIX + DEFAULT_NEGATIVE_PROMPT;
  return DEFAULT_NEGATIVE_PROMPT;
}

/**
 * The one rule for which negative prompt a generation uses, for the API, the CLI and the studio form
 * alike: the user's (unless ""), else Wan's default — with the image-to-video "camera shake" prefix
 * whenever an image-to-video model runs its image-conditioned path, i.e. for image- and video-to-video
 * on an i2v model (the video's first frame is its conditioning image). A t2v model animating an image
 * holds it as a first frame and keeps the plain default, as does text-to-video on any model.
 */
export function negativePromptFor(
  userNegative: string | undefined,
  modelVariant: "t2v" | "i2v",
  kind: "t2v" | "i2v" | "v2v",
): string {
  return effectiveNegativePrompt(userNegative, modelVariant === "i2v" && kind !== "t2v" ? "i2v" : "t2v");
}
