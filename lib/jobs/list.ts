/**
 * The job history, newest first, a page at a time. The cursor is the position of the last job of the
 * previous page (its creation time and id), not an offset: jobs created or deleted meanwhile neither
 * repeat nor skip entries, and a deleted cursor job still marks a valid position.
 */
import { StudioError } from "../errors.ts";
import type { JobRow } from "../db/client.ts";
import { FIRST_CHAIN_PART } from "../schemas/job-vocabulary.ts";
import { isValidId } from "../storage/ids.ts";
import type { JobsContext } from "./context.ts";
import { jobsJsonWithChain } from "./chain.ts";
import { listJobsQuerySchema, type JobList } from "./schemas.ts";

type Position = { createdAt: Date; id: string };

/** The last millisecond of the year 9999: creation times past it (or before 1970) are no job's. */
const LATEST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function encodeCursor(row: Position): string {
  return Buffer.from(JSON.stringify([row.createdAt.getTime(), row.id])).toString("base64url");
}

export function decodeCursor(cursor: string): Position {
  try {
    const [ms, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    if (typeof ms === "number" && Number.isInteger(ms) && ms >= 0 && ms <= LATEST_TIME_MS && isValidId(id)) {
      return { createdAt: new Date(ms), id };
    }
  } catch {
    // fall through
  }
  throw new StudioError("invalid_request", "cursor is not valid (use nextCursor from the previous page)", "cursor");
}

export async function listJobs(ctx: JobsContext, query: Record<string, string | undefined>): Promise<JobList> {
  const { cursor, limit, status, kind, continued, batch: batchId, q } = listJobsQuerySchema.parse(query);
  const after = cursor ? decodeCursor(cursor) : undefined;
  const needle = q ? q.toLowerCase() : undefined;

  const where = {
    ...(status ? { status: { in: status } } : {}),
    ...(kind ? { kind } : {}),
    // Continuations are the parts after a chain's first (isContinuationPart).
    ...(continued ? { chainPart: continued === "true" ? { gt: FIRST_CHAIN_PART } : FIRST_CHAIN_PART } : {}),
    ...(batchId ? { batchId } : {}),
    // LIKE under the hood: case-insensitive for ASCII on SQLite; PostgreSQL needs to be told.
    ...(q ? { prompt: ctx.provider === "postgresql" ? { contains: q, mode: "insensitive" as const } : { contains: q } } : {}),
  };
  // The database narrows by LIKE, where % and _ in the query are wildcards; the exact substring test
  // below keeps only real matches, so a page may take more than one read.
  const readSize = needle ? Math.min(500, (limit + 1) * 4) : limit + 1;
  const found: JobRow[] = [];
  let position = after;
  for (;;) {
    const rows = await ctx.db.job.findMany({
      where: {
        ...where,
        ...(position
          ? { OR: [{ createdAt: { lt: position.createdAt } }, { createdAt: position.createdAt, id: { lt: position.id } }] }
          : {}),
      },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: readSize,
    });
    found.push(...(needle ? rows.filter((r) => r.prompt.toLowerCase().includes(needle)) : rows));
    if (found.length > limit || rows.length < readSize) break;
    position = rows[rows.length - 1];
  }
  const page = found.slice(0, limit);
  return {
    jobs: await jobsJsonWithChain(ctx, page),
    nextCursor: found.length > limit ? encodeCursor(page[page.length - 1]) : null,
  };
}
