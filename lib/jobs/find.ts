/** One job's row by id, or the API's 404 naming the id. */
import { notFound } from "../errors.ts";
import type { JobRow } from "../db/client.ts";
import { isValidId } from "../storage/ids.ts";
import type { JobsContext } from "./context.ts";

export async function findJob(ctx: JobsContext, id: string): Promise<JobRow> {
  // A malformed id cannot name a job: same answer as an unknown one.
  const row = isValidId(id) ? await ctx.db.job.findUnique({ where: { id } }) : null;
  if (!row) throw notFound(`job ${id}`);
  return row;
}
