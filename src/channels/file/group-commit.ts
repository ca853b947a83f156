/**
 * The log writer with group commit. Appends queue up while an fsync runs; the
 * next cycle writes every queued record in one writev and covers them all with
 * one fsync. A record's callback runs only after its bytes are on disk, in log
 * order, synchronously for the whole group (so the channel's state never sees
 * half a group).
 */
import { closeSync, fdatasync, fstatSync, ftruncateSync, write, writev } from 'node:fs';
import { FlumeError } from '../../core/errors.ts';
import { offOf, pos, segOf } from './framing.ts';
import { WRITES_BLOCK_THE_LOOP } from './segment.ts';

export interface ActiveSegment {
  id: number;
  dir: string;
  path: string;
  fd: number;
  /** bytes placed: written or being written (durable once the cycles in flight complete) */
  size: number;
  /** where frames begin (after the header) */
  dataStart: number;
  /** opened with O_DSYNC: a completed write is durable, no fsync needed */
  dsync: boolean;
}

export interface SegmentStoreHooks {
  /** The segment to write now is full: create and register the next one, return it. */
  roll(): ActiveSegment;
  /** The writer lets go of a record it was handed: out of the recent window, or its write failed (frame-pool.ts). */
  forget?(buf: Buffer): void;
}

interface Queued {
  buf: Buffer;
  onDurable: (start: number, end: number) => void;
  reject: (err: Error) => void;
  resolve: () => void;
}

/** A cycle's segment was unlinked under the writer (its data dir removed while the agent runs). */
export class SegmentGoneError extends FlumeError {
  constructor(readonly path: string) {
    super('SEGMENT_GONE', `segment ${path} was deleted while in use (was its data dir removed?): what is written to it is not on disk under any name`);
  }
}

/**
 * A write into a segment that no longer has a name (`rm -rf` of the data dir
 * while the agent runs) succeeds and syncs, but lands in an inode that
 * disappears at the next close: acknowledging it would lose the batch, and a
 * source would move its position past lines that are nowhere. So a cycle is
 * confirmed only if its segment still has a link once it is synced. fstat is
 * in memory, a microsecond or two: made here on the event loop, it costs less
 * than another trip to the thread pool.
 */
function assertLinked(seg: ActiveSegment): void {
  if (fstatSync(seg.fd).nlink === 0) throw new SegmentGoneError(seg.path);
}

/** Recent-window statistics of fsyncs. */
export class FsyncStats {
  private readonly lat = new Float64Array(1024);
  private readonly per = new Float64Array(1024);
  private n = 0;
  total = 0;
  commits = 0;

  record(us: number, commits: number): void {
    this.lat[this.n % this.lat.length] = us;
    this.per[this.n % this.per.length] = commits;
    this.n++;
    this.total++;
    this.commits += commits;
  }

  percentile(p: number): number {
    const k = Math.min(this.n, this.lat.length);
    if (k === 0) return 0;
    const a = Array.from(this.lat.subarray(0, k)).sort((x, y) => x - y);
    return Math.round(a[Math.min(k - 1, Math.floor((p / 100) * k))]);
  }

  commitsPerFsync(): number {
    const k = Math.min(this.n, this.per.length);
    if (k === 0) return 0;
    let s = 0;
    for (let i = 0; i < k; i++) s += this.per[i];
    return Math.round((s / k) * 100) / 100;
  }
}

/** Closing a descriptor we are done with cannot usefully fail; never let it break the commit chain. */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** The data and what reading it back needs (the size), not the timestamps: what a log append must make durable. */
function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((res, rej) => fdatasync(fd, (err) => (err ? rej(err) : res())));
}

interface Touched {
  seg: ActiveSegment;
  /** size before this cycle wrote into it */
  before: number;
  bufs: Buffer[];
}

/**
 * Up to this many cycles in flight: while one fsync runs, the next group is
 * already written and its fsync issued, so a commit that arrives mid-fsync
 * does not wait for a whole extra fsync. Callbacks still run in log order.
 */
const MAX_IN_FLIGHT = 2;
/** How many bytes of just-written records stay in memory for takes of fresh data. */
const RECENT_BYTES = 4 << 20;

export class GroupCommitLog {
  private queue: Queued[] = [];
  private inFlight = 0;
  /** Applies cycles strictly in order. */
  private chain: Promise<void> = Promise.resolve();
  /** Set when a write or fsync failed: no new cycle starts until every cycle in flight settled and the log is cut back. */
  private failure?: { touched: Touched[]; err: Error };
  private idle?: { promise: Promise<void>; resolve: () => void };
  private toClose: Touched[] = [];
  /** While a cycle's callers run on, new records wait so they share the next fsync. */
  private holding = false;
  /** Records made durable recently, kept so a take of fresh data needs no disk read. */
  private readonly recent: { seg: number; off: number; buf: Buffer }[] = [];
  private recentBytes = 0;
  readonly stats = new FsyncStats();

  constructor(
    private active: ActiveSegment,
    private readonly maxFileSize: number,
    private readonly hooks: SegmentStoreHooks,
  ) {}

  get segment(): ActiveSegment {
    return this.active;
  }

  /** Resolves once `buf` is on disk and `onDurable(start, end)` (its log span) has run. */
  append(buf: Buffer, onDurable: (start: number, end: number) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buf, onDurable, resolve, reject });
      this.pump();
    });
  }

  /** Resolves when nothing is queued or being written. */
  drain(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    if (!this.idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.idle = { promise, resolve };
    }
    return this.idle.promise;
  }

  /** A recently durable record holding segment `seg` offset `off`, if still kept. */
  recentRecord(seg: number, off: number): { off: number; buf: Buffer } | undefined {
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const r = this.recent[i];
      if (r.seg === seg && off >= r.off && off < r.off + r.buf.length) return r;
    }
    return undefined;
  }

  private remember(start: number, buf: Buffer): void {
    this.recent.push({ seg: segOf(start), off: offOf(start), buf });
    this.recentBytes += buf.length;
    while (this.recentBytes > RECENT_BYTES && this.recent.length > 1) {
      const old = this.recent.shift()!.buf;
      this.recentBytes -= old.length;
      this.hooks.forget?.(old);
    }
  }

  private pump(): void {
    if (this.holding) return;
    while (this.queue.length > 0 && this.inFlight < MAX_IN_FLIGHT && !this.failure) {
      const group = this.queue;
      this.queue = [];
      this.inFlight++;
      this.startCycle(group);
    }
    if (this.inFlight === 0 && this.queue.length === 0 && this.idle) {
      const { resolve } = this.idle;
      this.idle = undefined;
      resolve();
    }
  }

  /**
   * Places the group (rolling segments as needed), issues its writes at their
   * positions and then its fsync, all off the main thread; its callbacks run
   * after every earlier cycle's.
   */
  private startCycle(group: Queued[]): void {
    const touched: Touched[] = [];
    const spans: [number, number][] = [];
    let placeErr: Error | undefined;
    let cur: Touched = { seg: this.active, before: this.active.size, bufs: [] };
    touched.push(cur);
    try {
      for (const q of group) {
        // roll before a record that would overflow a non-empty segment (an oversized record goes alone)
        if (cur.seg.size + q.buf.length > this.maxFileSize && cur.seg.size > cur.seg.dataStart) {
          this.active = this.hooks.roll();
          cur = { seg: this.active, before: this.active.size, bufs: [] };
          touched.push(cur);
        }
        spans.push([pos(cur.seg.id, cur.seg.size), pos(cur.seg.id, cur.seg.size + q.buf.length)]);
        cur.bufs.push(q.buf);
        cur.seg.size += q.buf.length;
      }
    } catch (err) {
      placeErr = err as Error;
      this.failure ??= { touched: [], err: placeErr };
    }
    const t0 = performance.now();
    // every write of the cycle settles before its outcome counts: a failed cycle lets go of its
    // records (forget), which must not happen while another of its writes still reads them
    const synced = placeErr
      ? Promise.reject(placeErr)
      : Promise.allSettled(touched.map(async (t) => {
          await writeAll(t.seg.fd, t.bufs, t.before);
          if (!t.seg.dsync) await fdatasyncAsync(t.seg.fd);
          assertLinked(t.seg);
        })).then((results) => {
          for (const r of results) if (r.status === 'rejected') throw r.reason;
        });
    synced.catch(() => undefined);
    const prev = this.chain;
    this.chain = (async () => {
      await prev;
      let err: Error | undefined;
      try {
        await synced;
        this.stats.record((performance.now() - t0) * 1000, group.length);
      } catch (e) {
        err = e as Error;
        this.failure ??= { touched: [], err };
      }
      // segments this cycle rolled away from: no later cycle writes them
      const rolledAway = touched.slice(0, -1);
      if (this.failure) {
        // this cycle failed, or follows one that did: its bytes are cut back below
        this.toClose.push(...rolledAway);
        this.failure.touched.push(...touched);
        for (const q of group) {
          this.hooks.forget?.(q.buf);
          q.reject(err ?? this.failure.err);
        }
      } else {
        for (const t of rolledAway) closeQuietly(t.seg.fd);
        this.holding = true;
        for (let i = 0; i < group.length; i++) {
          this.remember(spans[i][0], group[i].buf);
          try {
            group[i].onDurable(spans[i][0], spans[i][1]);
          } catch (e) {
            group[i].reject(e as Error);
            continue;
          }
          group[i].resolve();
        }
      }
      this.inFlight--;
      if (this.failure && this.inFlight === 0) this.recover(this.failure.touched);
      // let the callers just resolved run on (a source encodes its next batch, a sink commits)
      // so their records join the next fsync
      this.holding = true;
      setImmediate(() => {
        this.holding = false;
        this.pump();
      });
    })();
  }

  /** After a failure: cut the segments back to where the first failed cycle began. */
  private recover(touched: Touched[]): void {
    const seen = new Set<ActiveSegment>();
    for (const t of touched) {
      if (seen.has(t.seg)) continue; // the earliest failed cycle's starting size wins
      seen.add(t.seg);
      try {
        ftruncateSync(t.seg.fd, t.before);
        t.seg.size = t.before;
      } catch {
        // the segment stays longer than `size`; replay treats bytes after the last valid frame as torn
      }
    }
    // a segment rolled to during the failed cycles stays (empty or cut back); writing goes on in it
    for (const t of this.toClose.splice(0)) closeQuietly(t.seg.fd);
    this.failure = undefined;
  }
}

/**
 * Deno's `writev` copies its buffers into one (`Buffer.concat`) and then
 * writes that on the event loop: 500 writes of 400 KB cost it 100–200 ms of
 * CPU as `writev` against 60–75 ms as one `write` each (Node: the other way
 * round, `writev` the cheaper). There each piece is written with `write`.
 */
const WRITEV_COPIES = WRITES_BLOCK_THE_LOOP;

/**
 * Buffers that lie back to back in one allocation (put frames are cut one
 * after another from a slab) joined into one view, in order: fewer pieces for
 * one write. Nothing is copied.
 */
export function coalesce(bufs: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    const k = out.length - 1;
    const last = out[k];
    if (k >= 0 && last.buffer === b.buffer && last.byteOffset + last.length === b.byteOffset) {
      out[k] = Buffer.from(last.buffer, last.byteOffset, last.length + b.length);
    } else {
      out.push(b);
    }
  }
  return out;
}

/** Writes `bufs` back to back at `at`, finishing short writes. */
async function writeAll(fd: number, bufs: Buffer[], at: number): Promise<void> {
  const pieces = coalesce(bufs);
  let off = at;
  if (WRITEV_COPIES) {
    for (const b of pieces) {
      for (let done = 0; done < b.length; ) {
        const n = await new Promise<number>((res, rej) => write(fd, b, done, b.length - done, off + done, (e, w) => (e ? rej(e) : res(w))));
        if (n <= 0) throw new Error('a write made no progress');
        done += n;
      }
      off += b.length;
    }
    return;
  }
  // writev takes a bounded number of buffers per call on some systems
  for (let i = 0; i < pieces.length; i += 512) {
    const part = pieces.slice(i, i + 512);
    let want = 0;
    for (const b of part) want += b.length;
    let n = await new Promise<number>((res, rej) => writev(fd, part, off, (e, w) => (e ? rej(e) : res(w))));
    if (n < want) {
      const rest = Buffer.concat(part).subarray(n);
      let done = 0;
      while (done < rest.length) {
        const m = await new Promise<number>((res, rej) => writev(fd, [rest.subarray(done)], off + n + done, (e, w) => (e ? rej(e) : res(w))));
        if (m <= 0) throw new Error('a write made no progress');
        done += m;
      }
      n = want;
    }
    off += n;
  }
}
