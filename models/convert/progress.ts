/**
 * Conversion progress: bytes of weights written out of the total, reported to whoever renders it (the
 * CLI draws a bar). Totals grow as each component's graph is built, before its weights are written.
 */
export type ConvertProgressEvent = { done: number; total: number; component: string };

export class ConvertProgress {
  private done = 0;
  private total = 0;

  constructor(private readonly listener: (e: ConvertProgressEvent) => void = () => {}) {}

  addTotal(bytes: number): void {
    this.total += bytes;
  }

  advance(bytes: number, component: string): void {
    this.done += bytes;
    this.listener({ done: this.done, total: this.total, component });
  }
}
