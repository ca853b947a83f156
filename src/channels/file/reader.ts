/**
 * Reads events back from the log for takes: positional reads of 1 MiB or more,
 * so sequential takes cost one read per megabyte and the backlog itself never
 * lives in memory. Each read goes into a buffer of its own, not written again
 * while a take holds entries in it (read-buffers.ts), so a take hands out its
 * entries where they lie, and events decoded from them are views, not copies.
 * A Put frame's CRC is checked once and remembered while takes walk through
 * its entries.
 */
import { close, open, read } from 'node:fs';
import type { FramePool } from './frame-pool.ts';
import { ReadBuffers } from './read-buffers.ts';
import { checkFrame, entryBack, FRAME_HEADER_SIZE, FRAME_MAGIC, FrameType, offOf, pos, PUT_FIRST_ENTRY, PUT_SHARED_HEADERS, putCountOf, putTimeOf, segOf, spanEntries, type EntryRun } from './framing.ts';

export interface ReadableSegment {
  id: number;
  path: string;
  /** bytes written */
  size: number;
  dataStart: number;
}

export interface SegmentIndex {
  get(id: number): ReadableSegment | undefined;
  /** The first segment with an id above `id`. */
  after(id: number): ReadableSegment | undefined;
  /** The log position up to which everything is on disk: reads never go past it, so cached bytes never go stale. */
  durableEnd(): number;
  /** A durable record still in memory that holds `seg:off` (saves a disk read for fresh data). */
  recent?(seg: number, off: number): { off: number; buf: Buffer } | undefined;
}

const READ_CHUNK = 1 << 20;
const MAGIC = Buffer.from([FRAME_MAGIC & 0xff, FRAME_MAGIC >> 8]);

const openP = (path: string): Promise<number> => new Promise((res, rej) => open(path, 'r', (e, fd) => (e ? rej(e) : res(fd))));
const readP = (fd: number, b: Buffer, len: number, at: number): Promise<number> =>
  new Promise((res, rej) => read(fd, b, 0, len, at, (e, n) => (e ? rej(e) : res(n))));

export class LogReader {
  private readonly fds = new Map<number, Promise<number>>();
  /** The window `buf` shows: our last read, or a recent record of the writer. */
  private buf: Buffer;
  readonly buffers: ReadBuffers;
  /** our last read buffer (held while it is ours) */
  private own: Buffer;
  private bufSeg = -1;
  private bufStart = 0;
  private bufLen = 0;
  /** the last frame whose CRC was verified: segment, [start, end) file offsets, type */
  private vSeg = -1;
  private vStart = 0;
  private vEnd = 0;
  private vType = 0;
  /** its flags byte (PUT_SHARED_HEADERS) */
  private vFlags = 0;

  constructor(
    private readonly segs: SegmentIndex,
    private readonly onCorrupt: (path: string, off: number, length: number, reason: string) => void,
    frames?: FramePool,
  ) {
    this.buffers = new ReadBuffers(READ_CHUNK, 4, frames);
    this.own = this.buffers.get(READ_CHUNK, READ_CHUNK);
    this.buffers.hold(this.own);
    this.buf = this.own;
  }

  /**
   * Claims up to `max` entries that start in [start, end), appended to `runs`
   * as they lie in verified Put records (`times`: each run's put time), and
   * no more once they hold `maxBytes` (the entry that passes it is the
   * last). Returns where the rest of the span begins (`end` when the span is
   * done), how many entries were claimed and their runs' bytes.
   */
  async read(start: number, end: number, max: number, runs: EntryRun[], times: number[], maxBytes = Infinity): Promise<{ next: number; count: number; bytes: number }> {
    let p = start;
    let count = 0;
    let bytes = 0;
    while (p < end && count < max && bytes < maxBytes) {
      const id = segOf(p);
      const off = offOf(p);
      const s = this.segs.get(id);
      const last = segOf(end) === id;
      const segEnd = s ? (last ? Math.min(offOf(end), s.size) : s.size) : 0;
      if (!s || off >= segEnd) {
        const n = this.segs.after(id);
        if (!n || last) return { next: end, count, bytes };
        p = pos(n.id, n.dataStart);
        continue;
      }
      // which frame holds `off`, and is `off` an entry inside it or the frame's start?
      let frame: number;
      let entry: number;
      if (this.vSeg === id && off >= this.vStart && off < this.vEnd) {
        frame = this.vStart;
        entry = off === frame ? frame + PUT_FIRST_ENTRY : off;
      } else if ((this.vSeg === id && off === this.vEnd) || off <= s.dataStart) {
        frame = Math.max(off, s.dataStart);
        entry = frame + PUT_FIRST_ENTRY;
      } else {
        const owner = await this.frameOfEntry(s, off);
        frame = owner ?? off;
        entry = owner === undefined ? off + PUT_FIRST_ENTRY : off;
      }
      if (!(this.vSeg === id && this.vStart === frame)) {
        const ok = await this.verify(s, frame, this.limitOf(s));
        if (!ok) {
          const next = await this.resync(s, frame, this.limitOf(s));
          this.onCorrupt(s.path, frame, next - frame, 'bad frame (checksum, magic or length)');
          p = pos(id, next);
          continue;
        }
      }
      if (this.vType !== FrameType.Put) {
        p = pos(id, this.vEnd);
        continue;
      }
      await this.ensure(s, frame, this.vEnd - frame);
      const limit = Math.min(this.vEnd, last ? offOf(end) : this.vEnd);
      if (entry >= limit) {
        if (limit < this.vEnd) return { next: end, count, bytes }; // the span ends inside this frame, before this entry
        p = pos(id, this.vEnd);
        continue;
      }
      // `buf` is never written again (a fresh read buffer, or the writer's record): the run may point into it
      const from = entry - this.bufStart;
      // entries that start within the bytes left: the one that passes maxBytes is the last
      const cap = Math.min(limit, entry + (maxBytes - bytes));
      // a take of a whole record (the usual case: takes as large as puts) needs no walk over its
      // entries to count them: the record says how many it holds
      const whole = entry === frame + PUT_FIRST_ENTRY && cap === this.vEnd ? putCountOf(this.buf, frame - this.bufStart) : -1;
      const span = whole >= 0 && whole <= max - count
        ? { stop: cap - this.bufStart, count: whole }
        : spanEntries(this.buf, from, limit - this.bufStart, max - count, cap - this.bufStart);
      runs.push({ buf: this.buf, from, to: span.stop, count: span.count, sharedHeaders: (this.vFlags & PUT_SHARED_HEADERS) !== 0 });
      this.buffers.hold(this.buf);
      times.push(putTimeOf(this.buf, frame - this.bufStart));
      count += span.count;
      bytes += span.stop - from;
      p = pos(id, span.stop + this.bufStart);
    }
    return { next: p, count, bytes };
  }

  /** If `off` is an entry of a valid Put frame, that frame's start (verified and remembered). */
  private async frameOfEntry(s: ReadableSegment, off: number): Promise<number | undefined> {
    await this.ensure(s, off, 4);
    const back = entryBack(this.buf, off - this.bufStart);
    const f = off - back;
    if (back < PUT_FIRST_ENTRY || f < s.dataStart) return undefined;
    if (!(await this.verify(s, f, this.limitOf(s)))) return undefined;
    return this.vType === FrameType.Put && this.vEnd > off ? f : undefined;
  }

  /** Checks the frame at `f`; on success remembers it as verified. */
  private async verify(s: ReadableSegment, f: number, segEnd: number): Promise<boolean> {
    if (f + FRAME_HEADER_SIZE > segEnd) return false;
    await this.ensure(s, f, FRAME_HEADER_SIZE);
    if (this.buf !== this.own && f === this.bufStart) {
      // a record the writer made durable moments ago, still in memory: these are the bytes it
      // wrote, so the CRC (there to catch what the disk did) has nothing to check
      this.vSeg = s.id;
      this.vStart = f;
      this.vEnd = f + this.bufLen;
      this.vType = this.buf[6];
      this.vFlags = this.buf[7];
      return true;
    }
    let r = checkFrame(this.buf, f - this.bufStart, this.bufLen);
    if (r.kind === 'short' && f + r.need <= segEnd) {
      await this.ensure(s, f, r.need);
      r = checkFrame(this.buf, f - this.bufStart, this.bufLen);
    }
    if (r.kind !== 'ok') return false;
    this.vSeg = s.id;
    this.vStart = f;
    this.vEnd = f + FRAME_HEADER_SIZE + r.length;
    this.vType = r.type;
    this.vFlags = this.buf[f - this.bufStart + 7];
    return true;
  }

  /** The offset of the next valid frame after `off` in the segment, or `segEnd`. */
  private async resync(s: ReadableSegment, off: number, segEnd: number): Promise<number> {
    let c = off + 1;
    while (c + FRAME_HEADER_SIZE <= segEnd) {
      await this.ensure(s, c, FRAME_HEADER_SIZE);
      const j = this.buf.indexOf(MAGIC, c - this.bufStart + 4);
      if (j < 0 || j - 4 + this.bufStart + FRAME_HEADER_SIZE > segEnd) {
        const scanned = this.bufStart + this.bufLen;
        if (scanned >= segEnd) break;
        c = Math.max(c + 1, scanned - FRAME_HEADER_SIZE);
        continue;
      }
      c = this.bufStart + j - 4;
      if (await this.verify(s, c, segEnd)) return c;
      c++;
    }
    return segEnd;
  }

  /** How far the segment may be read: its durable part. */
  private limitOf(s: ReadableSegment): number {
    const de = this.segs.durableEnd();
    return segOf(de) === s.id ? Math.min(s.size, offOf(de)) : s.size;
  }

  /** Makes `buf` hold the segment's bytes [off, off + need) (reading at least a chunk). */
  private async ensure(s: ReadableSegment, off: number, need: number): Promise<void> {
    if (s.id === this.bufSeg && off >= this.bufStart && off + need <= this.bufStart + this.bufLen) return;
    const r = this.segs.recent?.(s.id, off);
    if (r && off + need <= r.off + r.buf.length) {
      // a recent record is held while it is the window: the writer may let go of it meanwhile
      this.buffers.hold(r.buf);
      if (this.buf !== this.own) this.buffers.release(this.buf);
      this.buf = r.buf;
      this.bufSeg = s.id;
      this.bufStart = r.off;
      this.bufLen = r.buf.length;
      return;
    }
    // never into the last buffer: takes may hold entries in it
    const avail = Math.max(0, this.limitOf(s) - off);
    const next = this.buffers.get(need, Math.min(READ_CHUNK, avail));
    this.buffers.hold(next);
    this.buffers.release(this.own);
    if (this.buf !== this.own) this.buffers.release(this.buf);
    this.own = next;
    this.buf = next;
    // the window describes nothing until the read is done: an open or read that fails leaves it empty,
    // never pointing at the old window's offsets over the new buffer
    this.bufSeg = -1;
    const want = Math.min(this.buf.length, avail);
    let fdp = this.fds.get(s.id);
    if (!fdp) {
      const opening = openP(s.path);
      fdp = opening;
      this.fds.set(s.id, opening);
      // a failed open is tried again next time, not remembered
      opening.catch(() => {
        if (this.fds.get(s.id) === opening) this.fds.delete(s.id);
      });
    }
    const fd = await fdp;
    let got = 0;
    while (got < want) {
      const n = await readP(fd, this.buf.subarray(got), want - got, off + got);
      if (n === 0) break;
      got += n;
    }
    this.bufSeg = s.id;
    this.bufStart = off;
    this.bufLen = got;
  }

  /** A take holding these runs has finished: their buffers may be read into again. */
  releaseRuns(runs: readonly EntryRun[]): void {
    for (const r of runs) this.buffers.release(r.buf);
  }

  /** Events were decoded from these runs (views into their buffers): never read into those again. */
  pinRuns(runs: readonly EntryRun[]): void {
    for (const r of runs) this.buffers.pin(r.buf);
  }

  /** Closes the descriptor of a deleted segment. */
  forget(id: number): void {
    const fdp = this.fds.get(id);
    this.fds.delete(id);
    if (this.bufSeg === id) this.bufSeg = -1;
    if (this.vSeg === id) this.vSeg = -1;
    fdp?.then((fd) => close(fd, () => undefined), () => undefined);
  }

  close(): void {
    for (const id of [...this.fds.keys()]) this.forget(id);
  }
}
