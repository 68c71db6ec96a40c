/**
 * The web server's side of model installs: one install-queue producer and one subscription to the install
 * events for all requests, kept on globalThis like the studio's other services (lib/server/studio.ts).
 */
import { createHub, type Hub } from "../queue/event-hub.ts";
import { createInstallQueue, subscribeInstalls, type InstallEvent, type InstallQueue } from "../model-library/install-queue.ts";
import { redis } from "../redis/connection.ts";
import { studio } from "./studio.ts";

export type Installs = { queue: InstallQueue; hub: Hub<InstallEvent> };

const globalForInstalls = globalThis as unknown as { installs?: Installs };

export function installs(): Installs {
  globalForInstalls.installs ??= {
    queue: createInstallQueue(redis(), studio().redisPrefix),
    hub: createHub<InstallEvent>((onEvent) => subscribeInstalls(redis(), studio().redisPrefix, onEvent), studio().log),
  };
  return globalForInstalls.installs;
}
