/**
 * The agent's log: one line per message on stderr (stdout belongs to the
 * logger sink), with a level and the component that speaks. Repeating
 * warnings (a corrupt record, a long line) go through `rateLimited` so a
 * million bad lines print a handful of lines and a count.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function levelFromEnv(v: string | undefined): Level {
  return v !== undefined && Object.hasOwn(ORDER, v) ? (v as Level) : 'info';
}

export interface LogSink {
  write(line: string): void;
}

export class Logger {
  private readonly limits = new Map<string, { windowStart: number; count: number; suppressed: number }>();

  constructor(
    private readonly out: LogSink = { write: (l) => process.stderr.write(l) },
    private readonly min: Level = levelFromEnv(process.env.FLUME_TAIL_LOG_LEVEL),
    private readonly component = '',
  ) {}

  child(component: string): Logger {
    const c = new Logger(this.out, this.min, component);
    // children share the rate-limit table so a component's warnings are limited across instances
    (c as unknown as { limits: Logger['limits'] }).limits = this.limits;
    return c;
  }

  log(level: Level, msg: string): void {
    if (ORDER[level] < ORDER[this.min]) return;
    const where = this.component ? ` [${this.component}]` : '';
    this.out.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)}${where} ${msg}\n`);
  }

  debug(msg: string): void { this.log('debug', msg); }
  info(msg: string): void { this.log('info', msg); }
  warn(msg: string): void { this.log('warn', msg); }
  error(msg: string): void { this.log('error', msg); }

  /**
   * Starts the rate limits of the matching keys afresh (saying first how many of their lines were
   * suppressed): a component that recovered wants the first warning of its next trouble seen, not
   * swallowed by the budget the last one used up.
   */
  renewLimits(matches: (key: string) => boolean): void {
    for (const [key, s] of this.limits) {
      if (!matches(key)) continue;
      if (s.suppressed > 0) this.log('info', `(${s.suppressed} similar messages suppressed)`);
      this.limits.delete(key);
    }
  }

  /** At most `perMinute` lines per key each minute; the next line after a quiet spell says how many were suppressed. */
  rateLimited(level: Level, key: string, msg: string, perMinute = 10): void {
    const now = Date.now();
    let s = this.limits.get(key);
    if (!s || now - s.windowStart >= 60_000) {
      const suppressed = s?.suppressed ?? 0;
      s = { windowStart: now, count: 0, suppressed: 0 };
      this.limits.set(key, s);
      if (suppressed > 0) this.log(level, `(${suppressed} similar messages suppressed)`);
    }
    if (s.count < perMinute) {
      s.count++;
      this.log(level, msg);
    } else {
      s.suppressed++;
    }
  }
}
