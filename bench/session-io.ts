/**
 * Bytes that cross an ONNX Runtime session's boundary in host memory: every CPU-located input fed to `run` and
 * every CPU-located output it returns (pre-allocated outputs included: the provider writes them back). On a GPU provider the binding
 * copies each of them between host and device at every call, so this is the host↔device traffic the engine
 * causes; tensors kept on the device (location "gpu-buffer") are not counted because they never cross.
 */
import type * as ort from "onnxruntime-node";

export type SessionIo = { calls: number; toSessionBytes: number; fromSessionBytes: number };

export function newSessionIo(): SessionIo {
  return { calls: 0, toSessionBytes: 0, fromSessionBytes: 0 };
}

function hostBytes(value: unknown): number {
  const t = value as ort.Tensor | null | undefined;
  if (!t || typeof t !== "object" || !("location" in t) || t.location !== "cpu") return 0;
  return (t.data as ArrayBufferView).byteLength;
}

/** The session with `run` counted into `io`; everything else is the session's own. */
export function countingSession(session: ort.InferenceSession, io: SessionIo): ort.InferenceSession {
  return new Proxy(session, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop !== "run") return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return async (feeds: ort.InferenceSession.FeedsType, ...rest: unknown[]) => {
        io.calls++;
        for (const t of Object.values(feeds)) io.toSessionBytes += hostBytes(t);
        const out = await (target.run as (...a: unknown[]) => Promise<ort.InferenceSession.ReturnType>)(feeds, ...rest);
        for (const t of Object.values(out)) io.fromSessionBytes += hostBytes(t);
        return out;
      };
    },
  });
}
