/**
 * The default negative prompt as the form shows it, and its English rendering for the "what it says"
 * disclosure. The model is conditioned on the Chinese text; the English is only for reading.
 */
import {
  DEFAULT_NEGATIVE_PROMPT,
  DEFAULT_NEGATIVE_PROMPT_ENGLISH,
  I2V_NEGATIVE_PREFIX,
  negativePromptFor,
} from "../engine/text/negative-prompt.ts";
import type { JobKind, ModelView } from "./api-types.ts";

/** The negative prompt a job of `kind` gets on `model` when the user leaves the field at its default. */
export function defaultNegativeFor(model: Pick<ModelView, "variant">, kind: JobKind): string {
  return negativePromptFor(undefined, model.variant, kind);
}

/** The English rendering of a default negative prompt, or null for a text the studio did not write. */
export function englishRendering(text: string): string | null {
  if (text === DEFAULT_NEGATIVE_PROMPT) return DEFAULT_NEGATIVE_PROMPT_ENGLISH;
  if (text === I2V_NEGATIVE_PREFIX + DEFAULT_NEGATIVE_PROMPT) return `Camera shake, ${DEFAULT_NEGATIVE_PROMPT_ENGLISH}`;
  return null;
}
