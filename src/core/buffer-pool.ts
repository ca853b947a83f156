/**
 * Read buffers, reused once nothing can see them.
 *
 * Both readers of the data path hand out what they read as ranges of their
 * read buffers (the TAILDIR reader its lines, the file channel's log reader a
 * take's entries), so a buffer must not be read into again while anyone holds
 * such a range. Where nothing per line is allocated, the garbage collector
 * runs rarely and dead buffers pile up outside the heap until it does (tens of
 * MB on Node), so they are reused instead: every holder `hold`s a buffer and
 * `release`s it, and a buffer nobody holds goes back to the pool, unless it
 * was `pin`ned (views of it escaped where the pool cannot see them: it is left
 * to the collector). Only buffers the pool made, of its own size, come back.
 */
export class BufferPool {
  /** buffers made here (only these are recycled) */
  private readonly mine = new WeakSet<Buffer>();
  /** holders of each buffer; weak, so a buffer never released is simply collected */
  private readonly holds = new WeakMap<Buffer, number>();
  private readonly pinned = new WeakSet<Buffer>();
  private readonly free: Buffer[] = [];
  /** buffers handed out again instead of made */
  recycled = 0;

  constructor(
    /** the size of a recycled buffer */
    readonly size: number,
    /** how many idle buffers to keep */
    private readonly keep = 4,
  ) {}

  /** A buffer of at least `need` bytes, of `want` if it has to be made (a recycled one is `size`). */
  get(need: number, want: number): Buffer {
    if (need <= this.size) {
      const b = this.free.pop();
      if (b) {
        this.recycled++;
        return b;
      }
    }
    const b = Buffer.allocUnsafe(Math.max(need, want));
    if (b.length === this.size) this.mine.add(b);
    return b;
  }

  hold(b: Buffer): void {
    if (this.mine.has(b)) this.holds.set(b, (this.holds.get(b) ?? 0) + 1);
  }

  release(b: Buffer): void {
    const n = this.holds.get(b);
    if (n === undefined) return;
    if (n > 1) {
      this.holds.set(b, n - 1);
      return;
    }
    this.holds.delete(b);
    if (!this.pinned.has(b) && this.free.length < this.keep) this.free.push(b);
  }

  /** Never recycle `b`: something may keep views into it. */
  pin(b: Buffer): void {
    this.pinned.add(b);
  }
}
