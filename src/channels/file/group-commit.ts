/**
 * The log writer with group commit. Appends queue up while an fsync runs; the
 * next cycle writes every queued record in one writev and covers them all with
 * one fsync. A record's callback runs only after its bytes are on disk, in log
 * order, synchronously for the whole group (so the channel's state never sees
 * half a group).
 */
import { closeSync, fsync, ftruncateSync, writevSync } from 'node:fs';
import { pos } from './framing.ts';

export interface ActiveSegment {
  id: number;
  dir: string;
  path: string;
  fd: number;
  /** bytes written (durable once the current cycle's fsync completes) */
  size: number;
  /** where frames begin (after the header) */
  dataStart: number;
}

export interface SegmentStoreHooks {
  /** The segment to write now is full: create and register the next one, return it. */
  roll(): ActiveSegment;
}

interface Queued {
  buf: Buffer;
  onDurable: (start: number, end: number) => void;
  reject: (err: Error) => void;
  resolve: () => void;
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

function fsyncAsync(fd: number): Promise<void> {
  return new Promise((res, rej) => fsync(fd, (err) => (err ? rej(err) : res())));
}

export class GroupCommitLog {
  private queue: Queued[] = [];
  private running: Promise<void> | undefined;
  readonly stats = new FsyncStats();

  constructor(
    private active: ActiveSegment,
    private readonly maxFileSize: number,
    private readonly hooks: SegmentStoreHooks,
  ) {}

  get segment(): ActiveSegment {
    return this.active;
  }

  /** Bytes waiting for the next cycle. */
  get queuedBytes(): number {
    let n = 0;
    for (const q of this.queue) n += q.buf.length;
    return n;
  }

  /** Resolves once `buf` is on disk and `onDurable(start, end)` (its log span) has run. */
  append(buf: Buffer, onDurable: (start: number, end: number) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buf, onDurable, resolve, reject });
      if (!this.running) this.running = this.run();
    });
  }

  /** Resolves when nothing is queued or being written. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        await this.cycle(group);
      }
    } finally {
      this.running = undefined;
    }
  }

  private async cycle(group: Queued[]): Promise<void> {
    // place every record: roll to a new segment before one that would overflow a non-empty segment
    const touched: { seg: ActiveSegment; before: number; bufs: Buffer[] }[] = [];
    const spans: [number, number][] = [];
    let cur = { seg: this.active, before: this.active.size, bufs: [] as Buffer[] };
    touched.push(cur);
    let at = this.active.size;
    for (const q of group) {
      // a record larger than maxFileSize still goes in, alone in its segment
      if (at + q.buf.length > this.maxFileSize && at > this.active.dataStart) {
        try {
          this.writeOut(cur, at);
          this.active = this.hooks.roll();
        } catch (err) {
          this.fail(touched, group, err as Error);
          return;
        }
        cur = { seg: this.active, before: this.active.size, bufs: [] };
        touched.push(cur);
        at = this.active.size;
      }
      spans.push([pos(cur.seg.id, at), pos(cur.seg.id, at + q.buf.length)]);
      cur.bufs.push(q.buf);
      at += q.buf.length;
    }
    try {
      this.writeOut(cur, at);
      const t0 = performance.now();
      for (const t of touched) await fsyncAsync(t.seg.fd);
      this.stats.record((performance.now() - t0) * 1000, group.length);
    } catch (err) {
      this.fail(touched, group, err as Error);
      return;
    }
    for (const t of touched) if (t.seg !== this.active) closeSync(t.seg.fd);
    for (let i = 0; i < group.length; i++) {
      try {
        group[i].onDurable(spans[i][0], spans[i][1]);
      } catch (err) {
        group[i].reject(err as Error);
        continue;
      }
      group[i].resolve();
    }
  }

  private writeOut(t: { seg: ActiveSegment; before: number; bufs: Buffer[] }, end: number): void {
    if (t.bufs.length === 0) return;
    let off = t.seg.size;
    // writev takes a bounded number of buffers per call on some systems
    for (let i = 0; i < t.bufs.length; i += 512) {
      const part = t.bufs.slice(i, i + 512);
      let want = 0;
      for (const b of part) want += b.length;
      let n = writevSync(t.seg.fd, part, off);
      if (n < want) {
        // a short write: finish the rest one buffer at a time
        const rest = Buffer.concat(part).subarray(n);
        let done = 0;
        while (done < rest.length) {
          const m = writevSync(t.seg.fd, [rest.subarray(done)], off + n + done);
          if (m <= 0) throw new Error(`short write to ${t.seg.path}`);
          done += m;
        }
        n = want;
      }
      off += n;
    }
    t.seg.size = end;
    t.bufs = [];
  }

  /** A write or fsync failed: cut every touched segment back to where the group began, and fail the group. */
  private fail(touched: { seg: ActiveSegment; before: number }[], group: Queued[], err: Error): void {
    for (const t of touched) {
      try {
        ftruncateSync(t.seg.fd, t.before);
        t.seg.size = t.before;
      } catch {
        // the segment stays longer than `size`; replay treats unsealed bytes at the tail as torn
      }
      if (t.seg !== this.active) closeSync(t.seg.fd);
    }
    for (const q of group) q.reject(err);
  }
}
