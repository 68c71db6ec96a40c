import { allEventsStream } from "@/lib/http/job-events";
import { handle } from "@/lib/http/errors";
import { studio } from "@/lib/server/studio";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export const GET = handle(async (request: Request) => allEventsStream(studio(), request));

export const { POST, PUT, PATCH, DELETE } = otherMethods("GET");
