import { closeSync, copyFileSync, existsSync, ftruncateSync, openSync, renameSync, writeSync } from 'node:fs';

/**
 * A log writer for tailing tests: appends lines carrying unique sequence
 * numbers (`<tag>-000042`) to a file, the way an application does (one
 * descriptor opened with O_APPEND), and performs the two rotations logrotate
 * knows. It records every line it completed, so a test can compare what was
 * delivered with what was written, as a multiset.
 *
 * - rename rotation: `rotate()` shifts app.log.N → app.log.N+1 … app.log →
 *   app.log.1, keeping the old descriptor: like a real application, lines
 *   written before `reopen()` land in the rotated file.
 * - copytruncate: `copyTruncate(between)` copies the file to app.log.1,
 *   writes `between` more lines (they exist only in the original, which is
 *   about to be emptied: the lines every copytruncate can lose), then
 *   truncates the original to 0; O_APPEND makes the next write land at 0.
 */
export class SeqWriter {
  /** every complete line written, in order */
  readonly written: string[] = [];
  /** lines written between a copy and its truncate (a subset of `written`) */
  readonly betweenCopyAndTruncate: string[] = [];
  private fd: number | null = null;
  private seq = 0;
  private partial = '';

  constructor(readonly path: string, readonly tag: string) {}

  /** The line with sequence number n. */
  line(n: number): string {
    return `${this.tag}-${String(n).padStart(6, '0')}`;
  }

  /** Appends `count` lines in one write(2) (so a reader never sees half a line unless asked to). */
  write(count: number): string[] {
    const lines = Array.from({ length: count }, () => this.line(this.seq++));
    if (lines.length === 0) return lines;
    this.raw(lines.join('\n') + '\n');
    this.written.push(...lines);
    return lines;
  }

  /** Appends one given line and its newline in one write(2). */
  writeLine(text: string): void {
    this.raw(text + '\n');
    this.written.push(text);
  }

  /** Writes bytes as they are, no newline added: a partial line until `finishLine`. */
  writePartial(text: string): void {
    this.partial += text;
    this.raw(text);
  }

  /** Ends the partial line (`rest` then a newline); returns the whole line now recorded as written. */
  finishLine(rest = ''): string {
    const whole = this.partial + rest;
    this.partial = '';
    this.raw(rest + '\n');
    this.written.push(whole);
    return whole;
  }

  /** Rename rotation: app.log.(k) → app.log.(k+1) for the existing ones, app.log → app.log.1. The descriptor stays on the old file. */
  rotate(): void {
    let top = 1;
    while (existsSync(`${this.path}.${top}`)) top++;
    for (let k = top - 1; k >= 1; k--) renameSync(`${this.path}.${k}`, `${this.path}.${k + 1}`);
    renameSync(this.path, `${this.path}.1`);
  }

  /** Closes the descriptor; the next write creates and opens the file at `path` again. */
  reopen(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** copytruncate: copy to `<path>.1`, write `between` lines to the original, truncate it to 0. Returns the between lines. */
  copyTruncate(between = 0): string[] {
    copyFileSync(this.path, `${this.path}.1`);
    const lines = this.write(between);
    this.betweenCopyAndTruncate.push(...lines);
    ftruncateSync(this.descriptor(), 0);
    return lines;
  }

  close(): void {
    this.reopen();
  }

  private descriptor(): number {
    this.fd ??= openSync(this.path, 'a');
    return this.fd;
  }

  private raw(text: string): void {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.descriptor(), buf, off);
  }
}

/**
 * A writer that keeps appending `perTick` lines every `everyMs` ms until
 * stopped; `onTick` (called after each write with the tick number) can rotate
 * or truncate in between, as a busy application and logrotate would.
 */
export class SteadyWriter {
  ticks = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private error: unknown;

  constructor(readonly writer: SeqWriter, readonly perTick: number, readonly everyMs: number, readonly onTick?: (tick: number) => void) {}

  start(): this {
    const tick = (): void => {
      if (this.stopped) return;
      try {
        this.writer.write(this.perTick);
        this.onTick?.(++this.ticks);
      } catch (err) {
        this.error = err;
        this.stopped = true;
        return;
      }
      this.timer = setTimeout(tick, this.everyMs);
    };
    this.timer = setTimeout(tick, 0);
    return this;
  }

  /** Stops writing; rethrows a write error so a test never passes on a writer that silently died. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.error) throw this.error;
  }
}

/** What was delivered compared with what was written, as multisets of lines. */
export interface Comparison {
  /** written, never delivered */
  missing: string[];
  /** delivered more than once (one entry per extra copy) */
  duplicates: string[];
  /** delivered, never written */
  unexpected: string[];
}

export function compareLines(written: readonly string[], delivered: readonly string[]): Comparison {
  const want = new Map<string, number>();
  for (const l of written) want.set(l, (want.get(l) ?? 0) + 1);
  const got = new Map<string, number>();
  for (const l of delivered) got.set(l, (got.get(l) ?? 0) + 1);
  const missing: string[] = [];
  const duplicates: string[] = [];
  const unexpected: string[] = [];
  for (const [l, n] of want) {
    const g = got.get(l) ?? 0;
    for (let i = g; i < n; i++) missing.push(l);
    for (let i = n; i < g; i++) duplicates.push(l);
  }
  for (const [l, g] of got) if (!want.has(l)) for (let i = 0; i < g; i++) unexpected.push(l);
  return { missing, duplicates, unexpected };
}

/** A one-line summary for assertion messages. */
export function describeComparison(c: Comparison): string {
  const few = (a: string[]) => a.slice(0, 5).join(', ') + (a.length > 5 ? ', …' : '');
  return `${c.missing.length} missing [${few(c.missing)}], ${c.duplicates.length} duplicates [${few(c.duplicates)}], ${c.unexpected.length} unexpected [${few(c.unexpected)}]`;
}
