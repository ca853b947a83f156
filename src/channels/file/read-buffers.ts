import { BufferPool } from '../../core/buffer-pool.ts';
import type { FramePool } from './frame-pool.ts';

/**
 * The log reader's buffers (core/buffer-pool.ts): its 1 MiB read buffers, and
 * the writer's put records it reads recent entries from, which belong to the
 * frame pool (frame-pool.ts). A take holds whichever its entries lie in; a
 * buffer is read into again only when no take holds it, it is not the
 * reader's current window, and no events were ever decoded from it.
 */
export class ReadBuffers extends BufferPool {
  constructor(
    size: number,
    keep = 4,
    /** the writer's put frames, which takes also hold while they are recent */
    readonly frames?: FramePool,
  ) {
    super(size, keep);
  }

  override hold(b: Buffer): void {
    if (this.frames?.owns(b)) this.frames.hold(b);
    else super.hold(b);
  }

  override release(b: Buffer): void {
    if (this.frames?.owns(b)) this.frames.release(b);
    else super.release(b);
  }

  override pin(b: Buffer): void {
    if (this.frames?.owns(b)) this.frames.pin(b);
    else super.pin(b);
  }
}
