/**
 * One Redis subscription per web server process, shared by all its Server-Sent-Event streams: each
 * stream registers a listener and removes it when its client goes away. (A subscription per client
 * would cost a Redis connection per open browser tab.)
 */
import type { Redis } from "ioredis";
import { subscribeChannelEvents, type ChannelEvent } from "./events.ts";

export type EventListener = (event: ChannelEvent) => void;

export type Hub<E> = {
  /** Resolves once events are flowing, with the function that removes the listener. */
  listen(listener: (event: E) => void): Promise<() => void>;
  /** Listeners currently registered (streams open in this process). */
  readonly size: number;
  close(): Promise<void>;
};

/** The jobs' events and the queue's ("queue"). */
export type EventHub = Hub<ChannelEvent>;

export function createEventHub(redis: Redis, prefix: string, log: (line: string) => void = () => {}): EventHub {
  return createHub((onEvent) => subscribeChannelEvents(redis, prefix, onEvent), log);
}

/** A hub over any subscription (the jobs' events above; model installs use it for theirs). */
export function createHub<E>(subscribe: (onEvent: (event: E) => void) => Promise<() => Promise<void>>, log: (line: string) => void = () => {}): Hub<E> {
  const listeners = new Set<(event: E) => void>();
  let subscription: Promise<() => Promise<void>> | undefined;

  const dispatch = (event: E) => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (e) {
        log(`event listener failed: ${(e as Error).message}`);
      }
    }
  };

  return {
    async listen(listener) {
      listeners.add(listener);
      subscription ??= subscribe(dispatch);
      try {
        await subscription;
      } catch (e) {
        listeners.delete(listener);
        subscription = undefined;
        throw e;
      }
      return () => {
        listeners.delete(listener);
      };
    },
    get size() {
      return listeners.size;
    },
    async close() {
      listeners.clear();
      const s = subscription;
      subscription = undefined;
      if (s) await (await s)();
    },
  };
}
