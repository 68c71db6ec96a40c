/**
 * Ids of jobs and uploads. They name folders and files on disk, so every id that arrives from outside
 * (a URL, a request body, a queue message) is checked against one pattern before any use: lower-case
 * letters, digits and dashes only, which can never climb out of a folder or hide an extension.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";

export const ID_PATTERN = /^[a-z0-9-]{8,64}$/;

export function newId(): string {
  return randomUUID();
}

export function isValidId(value: unknown): value is string {
  return typeof value === "string" && ID_PATTERN.test(value);
}

/** A zod field for an id, with a message that names the field. */
export function idField(name: string) {
  return z
    .string({ error: `${name} must be a string` })
    .regex(ID_PATTERN, `${name} must be an id (8–64 characters: a–z, 0–9 and -)`);
}
