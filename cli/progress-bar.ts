/**
 * A terminal progress bar on stderr: redrawn in place on a TTY, a line every 10 % otherwise (CI logs).
 */
export class ProgressBar {
  private lastPercent = -1;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly width = 30) {}

  update(fraction: number, label: string): void {
    const f = Math.max(0, Math.min(1, fraction));
    const percent = Math.floor(f * 100);
    if (this.tty) {
      const filled = Math.round(f * this.width);
      process.stderr.write(`\r[${"#".repeat(filled)}${".".repeat(this.width - filled)}] ${String(percent).padStart(3)}% ${label}\x1b[K`);
    } else if (percent >= this.lastPercent + 10 || (percent === 100 && this.lastPercent !== 100)) {
      process.stderr.write(`${String(percent).padStart(3)}% ${label}\n`);
      this.lastPercent = percent;
    }
  }

  done(): void {
    if (this.tty) process.stderr.write("\n");
  }
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

/** Peak resident memory of this process so far (bytes). */
export function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}
