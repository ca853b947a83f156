import type { FlumeEvent } from './event.ts';

/**
 * Lines kept where a source read them: offsets into its read buffers, all
 * with one headers object. A tailed file's batch of plain lines is handed to a
 * channel in this form (`Channel.putLines`), so a line costs no event object
 * and no Buffer view on its way into the file channel; those were a fifth of
 * the TAILDIR source's time. Anything that needs events (an interceptor, the
 * memory channel) gets them from `events()`, views made once on demand.
 *
 * Lines are kept in segments: a segment's lines lie in one buffer, in order,
 * with at most MAX_GAP bytes (their line ends) between one and the next. The
 * file channel copies a segment in one piece and moves each line into place
 * within its frame (see `encodePutLines`); that needs the gaps to be smaller
 * than an entry's own header, which MAX_GAP guarantees.
 */
export const MAX_GAP = 2;

export class LineBatch {
  count = 0;
  /** sum of the lines' lengths */
  bytes = 0;
  starts: Int32Array;
  ends: Int32Array;
  /** the buffer of each segment, and the index of its first line */
  readonly bufs: Buffer[] = [];
  readonly segFrom: number[] = [];
  private views?: FlumeEvent[];

  constructor(
    readonly headers: Record<string, string>,
    /** most lines it may hold (the source's batch size) */
    readonly limit: number,
    /** how many lines the source expects (a backlog fills its batch): room for them from the start */
    expect = 0,
  ) {
    // grown as lines come: most reads of a live file find a few lines, or none. A backlog's batch is made
    // full size at once: growing 64 → 256 → 1000 was six typed arrays per batch, 2.4 % of bench-tail's time
    const first = Math.min(limit, Math.max(64, expect));
    [this.starts, this.ends] = pair(first);
  }

  /** Adds `buf[start, end)` as the next line. The bytes must stay as they are until the batch is put. */
  add(buf: Buffer, start: number, end: number): void {
    const i = this.count;
    if (i === this.starts.length) this.grow();
    const k = this.bufs.length - 1;
    if (k < 0 || this.bufs[k] !== buf || start - this.ends[i - 1] > MAX_GAP || start < this.ends[i - 1]) {
      this.bufs.push(buf);
      this.segFrom.push(i);
    }
    this.starts[i] = start;
    this.ends[i] = end;
    this.bytes += end - start;
    this.count = i + 1;
    this.views = undefined;
  }

  private grow(): void {
    const n = this.starts.length;
    if (n >= this.limit) throw new RangeError(`a line batch holds at most ${this.limit} lines`);
    const size = Math.min(this.limit, n * 4);
    const [starts, ends] = pair(size);
    starts.set(this.starts);
    ends.set(this.ends);
    this.starts = starts;
    this.ends = ends;
  }

  /** One event with the batch's headers: where it is routed, every line is. */
  sample(): FlumeEvent {
    return { headers: this.headers, body: this.count > 0 ? this.bufs[0].subarray(this.starts[0], this.ends[0]) : new Uint8Array(0) };
  }

  /** `events()` was called: views of the read buffers may live on elsewhere. */
  get viewed(): boolean {
    return this.views !== undefined;
  }

  /** The lines as events, bodies viewing the read buffers; made once and kept. */
  events(): FlumeEvent[] {
    if (this.views) return this.views;
    const out: FlumeEvent[] = new Array(this.count);
    for (let k = 0; k < this.bufs.length; k++) {
      const buf = this.bufs[k];
      const to = k + 1 < this.bufs.length ? this.segFrom[k + 1] : this.count;
      for (let i = this.segFrom[k]; i < to; i++) out[i] = { headers: this.headers, body: buf.subarray(this.starts[i], this.ends[i]) };
    }
    this.views = out;
    return out;
  }
}

/** What a source hands the channel processor: events, or a line batch. */
export type SourceBatch = FlumeEvent[] | LineBatch;

export function batchCount(b: SourceBatch): number {
  return b instanceof LineBatch ? b.count : b.length;
}

/** Two arrays of `n` offsets in one allocation (an ArrayBuffer each was twice the allocations). */
function pair(n: number): [Int32Array, Int32Array] {
  const mem = new ArrayBuffer(n * 8);
  return [new Int32Array(mem, 0, n), new Int32Array(mem, n * 4, n)];
}
