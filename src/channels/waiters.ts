/** Promises that resolve on the next `notify()` or after a timeout, whichever comes first. */
export class Waiters {
  private pending = new Set<() => void>();

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.pending.add(done);
    });
  }

  notify(): void {
    const list = [...this.pending];
    this.pending.clear();
    for (const f of list) f();
  }

  get size(): number {
    return this.pending.size;
  }
}
