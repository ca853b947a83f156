/**
 * Put frames carved from reused 1 MiB slabs.
 *
 * A put frame lives on after its write: the writer keeps recent records in
 * memory (so a take of fresh data reads no disk), and takes served from them
 * point into the frame (EntryRun). Allocated one by one, frames became ~190 MB
 * of short-lived buffers per million lines that V8 frees only when external
 * memory has grown by tens of MB, which was most of the TAILDIR path's peak
 * RSS. Here frames are cut one after another from a slab, each holder counts
 * on its slab, and a slab nobody holds any more is cut again.
 *
 * Holders: the writer from the frame's making until it leaves the recent
 * window (or its write failed), the log reader while the frame is its window,
 * and each take with entries in it. A slab from which events were decoded
 * (views anyone may keep) is pinned: never reused, left to the collector.
 */
import type { FrameAlloc } from './framing.ts';

const SLAB = 1 << 20;

interface Slab {
  readonly buf: Buffer;
  used: number;
  holds: number;
  pinned: boolean;
  /** cut again: a late release of an old frame must not count on the new slab */
  dead: boolean;
}

export class FramePool implements FrameAlloc {
  private readonly slabOf = new WeakMap<Buffer, Slab>();
  private current?: Slab;
  private readonly free: Buffer[] = [];
  /** slabs cut again instead of allocated */
  reused = 0;

  constructor(
    /** idle slabs kept */
    private readonly keep = 8,
  ) {}

  /** A frame of `size` bytes, held once (by the writer). A frame above half a slab gets a buffer of its own, not pooled. */
  alloc(size: number): Buffer {
    if (size > SLAB / 2) return Buffer.allocUnsafe(size);
    let s = this.current;
    if (!s || s.used + size > SLAB) {
      if (s) {
        this.current = undefined;
        this.recycleIfIdle(s);
      }
      const buf = this.free.pop();
      if (buf) this.reused++;
      s = { buf: buf ?? Buffer.allocUnsafe(SLAB), used: 0, holds: 0, pinned: false, dead: false };
      this.current = s;
    }
    const f = s.buf.subarray(s.used, s.used + size);
    s.used += size;
    s.holds++;
    this.slabOf.set(f, s);
    return f;
  }

  /** The frame just made turned out `size` bytes long: the rest of its room goes back to the slab. */
  trim(f: Buffer, size: number): Buffer {
    if (size === f.length) return f;
    const s = this.slabOf.get(f);
    const g = f.subarray(0, size);
    if (!s) return g;
    if (s === this.current && f.byteOffset - s.buf.byteOffset + f.length === s.used) s.used -= f.length - size;
    this.slabOf.delete(f);
    this.slabOf.set(g, s);
    return g;
  }

  /** A frame that will not be written (its encoding failed): the writer's hold goes, and its room if it was the last cut. */
  discard(f: Buffer): void {
    const s = this.slabOf.get(f);
    if (!s) return;
    if (s === this.current && f.byteOffset - s.buf.byteOffset + f.length === s.used) s.used -= f.length;
    this.release(f);
  }

  /** True if `f` is a frame of this pool (holds on other buffers are someone else's). */
  owns(f: Buffer): boolean {
    return this.slabOf.has(f);
  }

  hold(f: Buffer): void {
    const s = this.slabOf.get(f);
    if (s && !s.dead) s.holds++;
  }

  release(f: Buffer): void {
    const s = this.slabOf.get(f);
    if (!s || s.dead) return;
    s.holds--;
    if (s !== this.current) this.recycleIfIdle(s);
  }

  /** Views of `f` may live anywhere now: its slab is never cut again. */
  pin(f: Buffer): void {
    const s = this.slabOf.get(f);
    if (s) s.pinned = true;
  }

  private recycleIfIdle(s: Slab): void {
    if (s.holds > 0 || s.pinned || s.dead) return;
    s.dead = true;
    if (this.free.length < this.keep) this.free.push(s.buf);
  }
}
