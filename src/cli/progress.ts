/** The progress bar (a TTY on stderr) and the human-readable numbers the CLI prints. */
import type { Progress } from '../types.js';

export interface TextSink {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export const fmtNum = (v: number): string => {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(Number(v.toPrecision(5)));
};

/** Iterations per second, 3 significant digits. */
export const fmtRate = (v: number): string => (Number.isFinite(v) ? String(Number(v.toPrecision(3))) : String(v));

export const fmtSeconds = (s: number): string => (s < 10 ? `${s.toFixed(2)} s` : s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);

/** Redraws one line on a TTY at most every `intervalMs`; `finish()` ends the line. */
export class ProgressBar {
  private last = -Infinity;
  private drawn = false;
  private latest: Progress | undefined;

  constructor(
    private readonly sink: TextSink,
    private readonly label: string,
    private readonly intervalMs = 100,
  ) {}

  update = (p: Progress): void => {
    this.latest = p;
    const now = Date.now();
    if (now - this.last < this.intervalMs && p.iteration < p.maxIter) return;
    this.last = now;
    this.draw(p);
  };

  private draw(p: Progress): void {
    const width = Math.max(10, Math.min(30, (this.sink.columns ?? 80) - 60));
    const frac = p.maxIter > 0 ? Math.min(1, p.iteration / p.maxIter) : 0;
    const full = Math.round(frac * width);
    const bar = '█'.repeat(full) + '░'.repeat(width - full);
    const digits = String(p.maxIter).length;
    const line = `${this.label} ${bar} ${String(p.iteration).padStart(digits)}/${p.maxIter}  loss ${fmtNum(p.loss)}  ${fmtRate(p.rate)} it/s`;
    this.sink.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  finish(): void {
    if (this.latest) this.draw(this.latest);
    if (this.drawn) this.sink.write('\n');
    this.drawn = false;
  }
}
