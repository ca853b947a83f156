import type { FlumeEvent } from '../../core/event.ts';
import { LineBatch, type SourceBatch } from '../../core/line-batch.ts';
import type { BufferPool } from '../../core/buffer-pool.ts';
import type { LineSink } from './reader.ts';

/**
 * Gathers the lines of one read into the batch the source puts. While every
 * line is plain (only the file's shared headers) they stay offsets in a
 * LineBatch; a line that needs headers of its own (a piece of a split line, a
 * truncated one, a byte offset) turns the batch into events, the lines
 * before it included, so order is kept.
 */
export class BatchCollector {
  /** the lines while they are all plain; once a line is not, `events` holds them all */
  private readonly lines?: LineBatch;
  private events?: FlumeEvent[];
  /** the read buffer of the last line: each buffer is held (or pinned) once */
  private last?: Buffer;

  constructor(
    private readonly headers: Record<string, string>,
    private readonly byteOffsets: boolean,
    maxLines: number,
    private readonly pool?: BufferPool,
    /** the channels take line batches (ChannelProcessor.takesLines); else events from the start */
    asLines = true,
    /** lines expected (LineBatch's `expect`) */
    expect = 0,
  ) {
    if (byteOffsets || !asLines) this.events = [];
    else this.lines = new LineBatch(headers, maxLines, expect);
  }

  readonly sink: LineSink = (buf, start, end, offset, mark) => {
    if (!this.events) {
      const lines = this.lines!;
      if (!mark) {
        if (buf !== this.last) {
          this.pool?.hold(buf);
          this.last = buf;
        }
        lines.add(buf, start, end);
        return;
      }
      this.events = lines.events().slice();
      if (this.pool) for (const b of lines.bufs) this.pool.pin(b);
    }
    if (buf !== this.last) {
      this.pool?.pin(buf);
      this.last = buf;
    }
    // events' headers are never changed in place (interceptors copy on write, sinks only read),
    // so a plain line carries the file's frozen headers object: no object per line
    const body = buf.subarray(start, end);
    if (!this.byteOffsets && !mark) {
      this.events.push({ headers: this.headers, body });
      return;
    }
    const headers: Record<string, string> = { ...this.headers };
    if (this.byteOffsets) headers.byteoffset = String(offset);
    if (mark) headers[mark.key] = mark.value;
    this.events.push({ headers, body });
  };

  get count(): number {
    return this.events ? this.events.length : this.lines!.count;
  }

  batch(): SourceBatch {
    return this.events ?? this.lines!;
  }
}

/**
 * A batch is finished (committed, or given up at stop): its read buffers go
 * back to the pool, unless its lines were made into events that may live on.
 */
export function releaseBatch(batch: SourceBatch, pool: BufferPool | undefined): void {
  if (!pool || !(batch instanceof LineBatch)) return;
  let prev: Buffer | undefined;
  for (const b of batch.bufs) {
    if (b === prev) continue;
    prev = b;
    if (batch.viewed) pool.pin(b);
    pool.release(b);
  }
}
