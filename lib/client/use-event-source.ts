"use client";
/**
 * Subscribes to a Server-Sent Events stream of the studio (GET /api/events, GET /api/jobs/:id/events) and
 * hands every message to `onMessage` as (event name, parsed JSON). The browser retries dropped
 * connections by itself; when the server refuses the stream (the EventSource ends up CLOSED) this hook
 * reopens it with a growing delay, and it reports the connection state so a page can poll meanwhile.
 */
import { useEffect, useRef, useState } from "react";
import { EVENT_TYPES, QUEUE_EVENT } from "../ui/api-types.ts";
import { parseEventData } from "../ui/job-state.ts";

export type StreamState = "connecting" | "open" | "retrying";

/** Named events the studio sends; unnamed ones arrive as "message". */
const NAMES = ["snapshot", ...EVENT_TYPES, QUEUE_EVENT] as const;

/** `names`: the named events to deliver (default: the jobs' events; the models page passes its own). */
export function useEventSource(url: string | null, onMessage: (name: string, data: unknown) => void, names: readonly string[] = NAMES): StreamState {
  const [state, setState] = useState<StreamState>("connecting");
  const handler = useRef(onMessage);
  useEffect(() => {
    handler.current = onMessage;
  });

  useEffect(() => {
    if (!url) return;
    let source: EventSource | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let attempts = 0;
    let stopped = false;

    const open = () => {
      if (stopped) return;
      setState(attempts === 0 ? "connecting" : "retrying");
      source = new EventSource(url, { withCredentials: true });
      source.onopen = () => {
        attempts = 0;
        setState("open");
        handler.current("open", null);
      };
      const deliver = (name: string) => (e: MessageEvent<string>) => {
        const data = parseEventData(e.data);
        if (data !== undefined) handler.current(name, data);
      };
      source.onmessage = deliver("message");
      for (const name of names) source.addEventListener(name, deliver(name) as EventListener);
      source.onerror = () => {
        if (stopped) return;
        setState("retrying");
        if (source?.readyState === EventSource.CLOSED) {
          source.close();
          attempts++;
          retryTimer = setTimeout(open, Math.min(15_000, 1000 * 2 ** Math.min(attempts, 4)));
        }
      };
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(retryTimer);
      source?.close();
    };
  }, [url, names]);

  return url ? state : "connecting";
}
