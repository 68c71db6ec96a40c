import { handle } from "@/lib/http/errors";
import { installEventStream } from "@/lib/http/install-events";
import { installs } from "@/lib/server/installs";

export const dynamic = "force-dynamic";

export const GET = handle(async (request: Request) => installEventStream(installs(), request));
