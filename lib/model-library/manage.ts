/**
 * Managing installed models: make one the default, rename, delete. Jobs name their model, so a model that
 * a queued or running job uses is neither renamed nor deleted (409, naming how many jobs). Deleting first
 * renames the folder to a dot name (the model disappears at once for every process), checks again for
 * jobs that arrived meanwhile, and only then removes the files.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import { readManifest, writeManifest } from "../../models/manifest.ts";
import type { Db } from "../db/client.ts";
import { notFound, StudioError } from "../errors.ts";
import { listModels } from "../jobs/model-catalog.ts";
import { MODEL_NAME, type ModelJson } from "../jobs/schemas.ts";
import { readDefaultChoice, writeDefaultChoice } from "./default-choice.ts";
import { installedModels } from "./installed.ts";
import { updateModelSchema } from "./install-schemas.ts";

export type ModelsContext = { db: Db; modelsDir: string; log: (line: string) => void };

function modelDir(ctx: ModelsContext, name: string): string {
  if (!MODEL_NAME.test(name) || !installedModels(ctx.modelsDir).includes(name)) throw notFound(`model ${name}`);
  return path.join(ctx.modelsDir, name);
}

/** Queued or running jobs that name the model. */
export async function jobsUsingModel(db: Db, name: string): Promise<number> {
  return db.job.count({ where: { model: name, status: { in: ["queued", "running"] } } });
}

async function refuseWhileUsed(ctx: ModelsContext, name: string, action: string): Promise<void> {
  const n = await jobsUsingModel(ctx.db, name);
  if (n > 0) throw new StudioError("conflict", `cannot ${action} ${name}: ${n} queued or running job${n > 1 ? "s use" : " uses"} it`);
}

async function modelJsonOf(ctx: ModelsContext, name: string): Promise<ModelJson> {
  const model = (await listModels(ctx.modelsDir, ctx.log)).find((m) => m.name === name);
  if (!model) throw notFound(`model ${name}`);
  return model;
}

/** PATCH /api/models/:name — `{ name }` renames, `{ default: true }` makes it the default; both may come together. */
export async function updateModel(ctx: ModelsContext, name: string, body: unknown): Promise<ModelJson> {
  const dir = modelDir(ctx, name);
  const update = updateModelSchema.parse(body);
  let current = name;
  if (update.name !== undefined && update.name !== name) {
    const target = path.join(ctx.modelsDir, update.name);
    if (existsSync(target)) throw new StudioError("conflict", `a model named ${update.name} is already installed`, "name");
    await refuseWhileUsed(ctx, name, "rename");
    await rename(dir, target);
    // The manifest carries the name too (converted models are named after their folder).
    await writeManifest(target, { ...(await readManifest(target)), name: update.name });
    if (readDefaultChoice(ctx.modelsDir) === name) await writeDefaultChoice(ctx.modelsDir, update.name);
    ctx.log(`model ${name} renamed to ${update.name}`);
    current = update.name;
  }
  if (update.default) await writeDefaultChoice(ctx.modelsDir, current);
  return modelJsonOf(ctx, current);
}

/** DELETE /api/models/:name */
export async function deleteModel(ctx: ModelsContext, name: string): Promise<void> {
  const dir = modelDir(ctx, name);
  await refuseWhileUsed(ctx, name, "delete");
  const hidden = path.join(ctx.modelsDir, `.deleting-${name}-${randomUUID().slice(0, 8)}`);
  await rename(dir, hidden);
  try {
    // A job created between the check and the rename still names it: put the model back.
    await refuseWhileUsed(ctx, name, "delete");
  } catch (e) {
    await rename(hidden, dir);
    throw e;
  }
  if (readDefaultChoice(ctx.modelsDir) === name) await writeDefaultChoice(ctx.modelsDir, null);
  await rm(hidden, { recursive: true, force: true });
  ctx.log(`model ${name} deleted`);
}
