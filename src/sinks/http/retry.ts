/**
 * Retry timing: exponential backoff with jitter, capped by `maxBackoff`, and
 * the server's `Retry-After` honoured as a floor.
 */

/** The longest `Retry-After` we obey; a server asking for more is waited on for an hour, then tried again. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * `Retry-After` as milliseconds from `nowMs`: either delta-seconds (`120`) or
 * an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`). Undefined when absent or
 * unparsable; a date in the past is 0. Clamped to MAX_RETRY_AFTER_MS.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs = Date.now()): number | undefined {
  if (Array.isArray(value)) value = value[0];
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(v)) {
    ms = Number(v) * 1000;
  } else {
    // an HTTP-date names its day and month; this keeps "-5" from parsing as the year -5
    if (!/[A-Za-z]{3}/.test(v)) return undefined;
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - nowMs);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** [0, 1); injectable so tests can pin the jitter. */
  random?: () => number;
}

/**
 * Consecutive-failure backoff shared by every request of one sink: each
 * failure doubles the ceiling (initial × 2^n, capped at max) and the delay is
 * drawn in [ceiling/2, ceiling) — "equal jitter", so many agents restarting
 * together spread out but none retries at once. A success resets it.
 */
export class Backoff {
  private n = 0;
  private last = 0;
  private readonly random: () => number;

  constructor(private readonly opts: BackoffOptions) {
    this.random = opts.random ?? Math.random;
  }

  /** Consecutive failures since the last success. */
  get failures(): number {
    return this.n;
  }

  /** The delay chosen for the latest failure (0 after a success). */
  get currentMs(): number {
    return this.last;
  }

  /** Records a failure and returns how long to wait; `floorMs` (a Retry-After) wins when longer. */
  fail(floorMs = 0): number {
    const ceiling = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.n, 30));
    this.n++;
    const jittered = ceiling / 2 + this.random() * (ceiling / 2);
    this.last = Math.round(Math.max(jittered, floorMs));
    return this.last;
  }

  reset(): void {
    this.n = 0;
    this.last = 0;
  }
}

/** Sleeps `ms`, or less when `signal` aborts (then resolves false). */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
