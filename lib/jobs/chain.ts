/**
 * A job's place in its chain of continued clips, as the API shows it: which part it is, how many parts
 * the chain has, and which jobs continue it. The row knows its own part and root (lib/jobs/continue.ts
 * stores them); the rest takes two queries per page of jobs, not one per job.
 */
import type { JobRow } from "../db/client.ts";
import type { JobsContext } from "./context.ts";
import { jobJson, type ChainNeighbours } from "./job-json.ts";
import type { JobJson } from "./schemas.ts";

/** Chain parts and next parts for a page of rows (keyed by job id). */
export async function chainNeighbours(ctx: JobsContext, rows: JobRow[]): Promise<Map<string, ChainNeighbours>> {
  const ids = rows.map((r) => r.id);
  const roots = [...new Set(rows.map((r) => r.chainRootId ?? r.id))];
  const [longest, next] = await Promise.all([
    ctx.db.job.groupBy({ by: ["chainRootId"], where: { chainRootId: { in: roots } }, _max: { chainPart: true } }),
    ctx.db.job.findMany({
      where: { continuesJobId: { in: ids } },
      select: { id: true, continuesJobId: true },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    }),
  ]);
  const parts = new Map(longest.map((g) => [g.chainRootId, g._max.chainPart ?? 1]));
  const nextIds = new Map<string, string[]>();
  for (const n of next) nextIds.set(n.continuesJobId!, [...(nextIds.get(n.continuesJobId!) ?? []), n.id]);
  return new Map(
    rows.map((r) => [r.id, { parts: Math.max(r.chainPart, parts.get(r.chainRootId ?? r.id) ?? 1), nextIds: nextIds.get(r.id) ?? [] }]),
  );
}

export async function jobJsonWithChain(ctx: JobsContext, row: JobRow): Promise<JobJson> {
  return jobJson(row, (await chainNeighbours(ctx, [row])).get(row.id));
}

export async function jobsJsonWithChain(ctx: JobsContext, rows: JobRow[]): Promise<JobJson[]> {
  const neighbours = await chainNeighbours(ctx, rows);
  return rows.map((r) => jobJson(r, neighbours.get(r.id)));
}
