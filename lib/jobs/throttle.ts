/**
 * Keeps the latest value and writes it at most once per interval, one write at a time: progress
 * arrives many times a second, but the database only needs to know roughly where a job is (the live
 * view comes from the events). `stop` drops what is pending and waits for a write in progress.
 */
export type Throttle<T> = {
  push(value: T): void;
  stop(): Promise<void>;
};

export function createThrottle<T>(
  write: (value: T) => Promise<void>,
  intervalMs: number,
  onError: (e: unknown) => void = () => {},
): Throttle<T> {
  let pending: { value: T } | undefined;
  let lastWrite = -Infinity;
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const writeNow = (): void => {
    if (!pending || stopped) return;
    const { value } = pending;
    pending = undefined;
    lastWrite = Date.now();
    inFlight = write(value)
      .catch(onError)
      .finally(() => {
        inFlight = undefined;
        schedule();
      });
  };

  const schedule = () => {
    if (!pending || stopped || inFlight || timer) return;
    const wait = lastWrite + intervalMs - Date.now();
    if (wait <= 0) {
      writeNow();
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      writeNow();
    }, wait);
  };

  return {
    push(value) {
      if (stopped) return;
      pending = { value };
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      pending = undefined;
      await inFlight;
    },
  };
}
