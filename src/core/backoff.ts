/** Exponential backoff with full jitter on the upper half: base·2^(n-1), capped, randomised so retries of many agents spread out. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

/** A sleep that `wake()` ends early (used so stop() does not wait out a backoff). */
export class Sleeper {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private resolveFn: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.resolveFn = resolve;
      this.timer = setTimeout(() => {
        this.resolveFn = undefined;
        resolve();
      }, ms);
    });
  }

  wake(): void {
    if (this.timer) clearTimeout(this.timer);
    const r = this.resolveFn;
    this.resolveFn = undefined;
    r?.();
  }
}
