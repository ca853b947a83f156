import type { FramePool } from './frame-pool.ts';

/**
 * The log reader's read buffers, recycled.
 *
 * A take hands out its entries as runs that point into the buffer they were
 * read into (see EntryRun), so a buffer must not be written again while a take
 * holds it. A sink that encodes straight from the runs allocates nothing per
 * event, so the garbage collector runs rarely and dead 1 MiB buffers would pile
 * up outside the heap until it does (measured: +30 MB peak RSS on Node);
 * recycling them keeps memory flat. A buffer comes back to the pool only when
 * nothing can see it any more: no take holds it, it is not the reader's current
 * window, and no events were ever decoded from it (decoded events are views
 * into it that anyone may keep: such a buffer is left to the collector).
 */
export class ReadBuffers {
  /** buffers made here (only these are recycled) */
  private readonly mine = new WeakSet<Buffer>();
  /** takes (and the reader's window) holding each buffer; weak, so a buffer never released is simply collected */
  private readonly holds = new WeakMap<Buffer, number>();
  private readonly pinned = new WeakSet<Buffer>();
  private readonly free: Buffer[] = [];
  /** reads that went into a recycled buffer */
  recycled = 0;

  constructor(
    /** the size of a recycled buffer */
    readonly size: number,
    /** how many idle buffers to keep */
    private readonly keep = 4,
    /** the writer's put frames, which takes also hold while they are recent (frame-pool.ts) */
    readonly frames?: FramePool,
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
    if (this.frames?.owns(b)) return this.frames.hold(b);
    if (this.mine.has(b)) this.holds.set(b, (this.holds.get(b) ?? 0) + 1);
  }

  release(b: Buffer): void {
    if (this.frames?.owns(b)) return this.frames.release(b);
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
    if (this.frames?.owns(b)) return this.frames.pin(b);
    this.pinned.add(b);
  }
}
