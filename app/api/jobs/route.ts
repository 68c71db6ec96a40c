import { createJob } from "@/lib/jobs/create";
import { listJobs } from "@/lib/jobs/list";
import { readJson } from "@/lib/http/body";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export const GET = handle(async (request: Request) => {
  const query = Object.fromEntries(new URL(request.url).searchParams);
  return Response.json(await listJobs(studio(), query));
});

export const POST = handle(async (request: Request) => {
  const job = await createJob(studio(), await readJson(request));
  return Response.json(job, { status: 201, headers: { Location: `/api/jobs/${job.id}` } });
});

export const { PUT, PATCH, DELETE } = otherMethods("GET", "POST");
