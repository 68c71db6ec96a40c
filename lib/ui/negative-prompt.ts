/**
 * The default negative prompt as the form shows it, and its English rendering for the "what it says"
 * disclosure. The model is conditioned on the Chinese text; the English is only for reading.
 */
import { DEFAULT_NEGATIVE_PROMPT, DEFAULT_NEGATIVE_PROMPT_ENGLISH, I2V_NEGATIVE_PREFIX } from "../engine/text/negative-prompt.ts";
import type { JobKind, ModelView } from "./api-types.ts";

/**
 * The negative prompt a job of `kind` gets on `model` when the user leaves the field at its default, as
 * the API decides it: Wan's default, with the "camera shake" prefix only for image-to-video on an i2v
 * model (a t2v model animating a first frame keeps the plain default). GET /api/models reports each
 * model's default for its own variant, so the prefix is taken off or put on here.
 */
export function defaultNegativeFor(model: Pick<ModelView, "defaultNegativePrompt" | "variant">, kind: JobKind): string {
  const d = model.defaultNegativePrompt;
  const plain = d.startsWith(I2V_NEGATIVE_PREFIX) ? d.slice(I2V_NEGATIVE_PREFIX.length) : d;
  return kind === "i2v" && model.variant === "i2v" ? I2V_NEGATIVE_PREFIX + plain : plain;
}

/** The English rendering of a default negative prompt, or null for a text the studio did not write. */
export function englishRendering(text: string): string | null {
  if (text === DEFAULT_NEGATIVE_PROMPT) return DEFAULT_NEGATIVE_PROMPT_ENGLISH;
  if (text === I2V_NEGATIVE_PREFIX + DEFAULT_NEGATIVE_PROMPT) return `Camera shake, ${DEFAULT_NEGATIVE_PROMPT_ENGLISH}`;
  return null;
}
