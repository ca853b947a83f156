/**
 * Read buffers the TAILDIR readers share and reuse. A buffer's lines are put
 * as ranges (LineBatch) and copied into the channel's frame, so once its
 * reader moved on and every batch holding a range of it is finished, nobody
 * holds it: it is read into again instead of left to the garbage collector.
 * Left to it, the freed 256 KiB buffers piled up to ~70 MB before V8 swept
 * them, the bulk of the source's peak RSS.
 *
 * Every holder pins a buffer (the reader while it reads into it, each batch
 * with lines in it) and unpins it when done. A buffer whose bytes escaped as
 * views (events handed to an interceptor or to a channel that keeps them) is
 * `shared`: it is never reused, and the collector frees it as before.
 */
export class ChunkPool {
  private readonly pins = new Map<Buffer, number>();
  private readonly shared = new WeakSet<Buffer>();
  private readonly spare: Buffer[] = [];
  /** buffers handed out again instead of allocated */
  reused = 0;

  constructor(
    readonly chunkSize: number,
    /** spare buffers kept at most: enough for the batches in flight */
    private readonly maxSpare = 4,
  ) {}

  /** A buffer of at least `size` bytes, pinned once for the caller. */
  take(size: number): Buffer {
    let b: Buffer | undefined;
    if (size <= this.chunkSize && this.spare.length > 0) {
      b = this.spare.pop()!;
      this.reused++;
    } else {
      b = Buffer.allocUnsafe(Math.max(size, this.chunkSize));
    }
    this.pins.set(b, 1);
    return b;
  }

  pin(b: Buffer): void {
    if (this.shared.has(b)) return;
    const n = this.pins.get(b);
    if (n !== undefined) this.pins.set(b, n + 1);
  }

  unpin(b: Buffer): void {
    const n = this.pins.get(b);
    if (n === undefined) return;
    if (n > 1) {
      this.pins.set(b, n - 1);
      return;
    }
    this.pins.delete(b);
    if (b.length === this.chunkSize && this.spare.length < this.maxSpare) this.spare.push(b);
  }

  /** Views of `b` live on where the pool cannot see them: never reuse it. */
  share(b: Buffer): void {
    this.pins.delete(b);
    this.shared.add(b);
  }

  /** Buffers pinned now (for tests: 0 once every reader and batch is done). */
  get pinned(): number {
    return this.pins.size;
  }
}
