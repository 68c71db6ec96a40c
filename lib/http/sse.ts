/**
 * Server-Sent Events over a ReadableStream: named events with JSON data, a comment every 15 s so proxies
 * and browsers keep an idle connection open, and one clean-up path whether the client goes away (the
 * stream is canceled, or the request aborted) or the server ends the stream.
 */
export const HEARTBEAT_MS = 15_000;

export type SseChannel = {
  send(event: string, data: unknown): void;
  /** True once the client has gone; sending is then a no-op. */
  readonly closed: boolean;
};

/** `setup` starts delivering and returns the function that stops it; it runs once the stream opens. */
export function eventStream(
  request: Request,
  setup: (channel: SseChannel) => Promise<() => void>,
  options: { heartbeatMs?: number } = {},
): Response {
  const encoder = new TextEncoder();
  let closed = false;
  let stopDelivery: (() => void) | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined;

  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    request.signal.removeEventListener("abort", close);
    stopDelivery?.();
    try {
      controllerRef?.close();
    } catch {
      // already closed by the runtime
    }
  };
  const write = (text: string) => {
    if (closed || !controllerRef) return;
    try {
      controllerRef.enqueue(encoder.encode(text));
    } catch {
      close();
    }
  };
  const channel: SseChannel = {
    send(event, data) {
      write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    get closed() {
      return closed;
    },
  };

  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controllerRef = controller;
      request.signal.addEventListener("abort", close);
      // How long a browser waits before reconnecting after a drop.
      write("retry: 3000\n\n");
      heartbeat = setInterval(() => write(": ping\n\n"), options.heartbeatMs ?? HEARTBEAT_MS);
      try {
        const stop = await setup(channel);
        if (closed) stop();
        else stopDelivery = stop;
      } catch (e) {
        write(`event: error\ndata: ${JSON.stringify({ message: (e as Error).message })}\n\n`);
        close();
      }
    },
    cancel() {
      close();
    },
  });

  return new Response(stream, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      // no-transform keeps compression middleware from buffering the stream.
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    },
  });
}
