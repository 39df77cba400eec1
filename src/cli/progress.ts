/**
 * The progress line on standard error (only when it is a terminal): how many images are
 * done, how many per second, and the file most recently started, redrawn a few times a
 * second in place.
 *
 * @module
 */

/** Redraws per second: enough to look alive, few enough to cost nothing. */
const REDRAW_INTERVAL_MS = 200;

/** Erases the current terminal line (carriage return, then ANSI "erase in line"). */
const ERASE_LINE = '\r\u001b[K';

/** The progress line. Does nothing unless `enabled`. */
export class Progress {
  private done = 0;
  private current = '';
  private shown = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly startedAt = Date.now();

  constructor(
    private readonly stream: NodeJS.WriteStream,
    readonly enabled: boolean = stream.isTTY === true,
  ) {
    if (!enabled) return;
    this.timer = setInterval(() => this.draw(), REDRAW_INTERVAL_MS);
    this.timer.unref();
  }

  /** A file was started. */
  started(name: string): void {
    this.current = name;
  }

  /** A file finished. */
  finished(): void {
    this.done += 1;
  }

  /** Erases the line (before a result is written where the line is). */
  clear(): void {
    if (!this.shown) return;
    this.stream.write(ERASE_LINE);
    this.shown = false;
  }

  /** Erases the line for good. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  /** The line's text, fitted to the terminal's width. */
  text(now = Date.now()): string {
    const seconds = Math.max((now - this.startedAt) / 1000, 0.001);
    const line = `${this.done} done, ${(this.done / seconds).toFixed(1)}/s, ${this.current}`;
    const columns = this.stream.columns ?? 80;
    return line.length < columns ? line : `${line.slice(0, Math.max(columns - 2, 0))}…`;
  }

  private draw(): void {
    this.stream.write(`${ERASE_LINE}${this.text()}`);
    this.shown = true;
  }
}
