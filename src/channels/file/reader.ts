/**
 * Reads events back from the log for takes: positional reads of 1 MiB or more
 * into one reused buffer, so sequential takes cost one read per megabyte and
 * the backlog itself never lives in memory.
 */
import { close, open, read } from 'node:fs';
import type { FlumeEvent } from '../../core/event.ts';
import { checkFrame, decodeEvent, FRAME_HEADER_SIZE, FRAME_MAGIC, FrameType, offOf, pos, segOf } from './framing.ts';

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
}

const READ_CHUNK = 1 << 20;
const MAGIC = Buffer.from([FRAME_MAGIC & 0xff, FRAME_MAGIC >> 8]);

const openP = (path: string): Promise<number> => new Promise((res, rej) => open(path, 'r', (e, fd) => (e ? rej(e) : res(fd))));
const readP = (fd: number, b: Buffer, len: number, at: number): Promise<number> =>
  new Promise((res, rej) => read(fd, b, 0, len, at, (e, n) => (e ? rej(e) : res(n))));

export class LogReader {
  private readonly fds = new Map<number, Promise<number>>();
  private buf = Buffer.allocUnsafe(READ_CHUNK);
  private bufSeg = -1;
  private bufStart = 0;
  private bufLen = 0;

  constructor(
    private readonly segs: SegmentIndex,
    private readonly onCorrupt: (path: string, off: number, length: number, reason: string) => void,
  ) {}

  /**
   * Appends to `out` the events of [start, end) until `out` holds `max`; returns
   * the position after the last frame consumed (`end` when the span is done).
   * `times` receives each event's put time.
   */
  async read(start: number, end: number, max: number, out: FlumeEvent[], times: number[]): Promise<number> {
    let p = start;
    while (p < end && out.length < max) {
      const id = segOf(p);
      let off = offOf(p);
      const s = this.segs.get(id);
      const last = segOf(end) === id;
      if (!s) {
        const n = this.segs.after(id);
        if (!n || last) return end;
        p = pos(n.id, n.dataStart);
        continue;
      }
      if (off < s.dataStart) off = s.dataStart;
      const segEnd = last ? Math.min(offOf(end), s.size) : s.size;
      if (off >= segEnd) {
        const n = this.segs.after(id);
        if (!n || last) return end;
        p = pos(n.id, n.dataStart);
        continue;
      }
      await this.ensure(s, off, FRAME_HEADER_SIZE, segEnd);
      let r = checkFrame(this.buf, off - this.bufStart, this.bufLen);
      if (r.kind === 'short' && off + r.need <= segEnd) {
        await this.ensure(s, off, r.need, segEnd);
        r = checkFrame(this.buf, off - this.bufStart, this.bufLen);
      }
      if (r.kind === 'ok') {
        if (r.type === FrameType.Event) {
          const e = decodeEvent(this.buf, off - this.bufStart + FRAME_HEADER_SIZE, r.length);
          out.push({ headers: e.headers, body: e.body });
          times.push(e.putTime);
        }
        p = pos(id, off + FRAME_HEADER_SIZE + r.length);
        continue;
      }
      const next = await this.resync(s, off, segEnd);
      this.onCorrupt(s.path, off, next - off, r.kind === 'bad' ? r.reason : 'frame runs past the data');
      p = pos(id, next);
    }
    return p;
  }

  /** The offset of the next valid frame after `off` in the segment, or `segEnd`. */
  private async resync(s: ReadableSegment, off: number, segEnd: number): Promise<number> {
    let c = off + 1;
    while (c + FRAME_HEADER_SIZE <= segEnd) {
      await this.ensure(s, c, FRAME_HEADER_SIZE, segEnd);
      const j = this.buf.indexOf(MAGIC, c - this.bufStart + 4);
      if (j < 0 || j - 4 + this.bufStart + FRAME_HEADER_SIZE > segEnd) {
        const scanned = this.bufStart + this.bufLen;
        if (scanned >= segEnd) break;
        c = Math.max(c + 1, scanned - FRAME_HEADER_SIZE);
        continue;
      }
      c = this.bufStart + j - 4;
      await this.ensure(s, c, FRAME_HEADER_SIZE, segEnd);
      let r = checkFrame(this.buf, c - this.bufStart, this.bufLen);
      if (r.kind === 'short' && c + r.need <= segEnd) {
        await this.ensure(s, c, r.need, segEnd);
        r = checkFrame(this.buf, c - this.bufStart, this.bufLen);
      }
      if (r.kind === 'ok') return c;
      c++;
    }
    return segEnd;
  }

  private async ensure(s: ReadableSegment, off: number, need: number, limit: number): Promise<void> {
    if (s.id === this.bufSeg && off >= this.bufStart && off + need <= this.bufStart + this.bufLen) return;
    if (need > this.buf.length) this.buf = Buffer.allocUnsafe(need);
    const want = Math.min(this.buf.length, Math.max(limit, s.size) - off);
    let fdp = this.fds.get(s.id);
    if (!fdp) {
      fdp = openP(s.path);
      this.fds.set(s.id, fdp);
    }
    const fd = await fdp;
    this.bufSeg = -1;
    let got = 0;
    while (got < want) {
      const n = await readP(fd, want - got === this.buf.length ? this.buf : this.buf.subarray(got), want - got, off + got);
      if (n === 0) break;
      got += n;
    }
    this.bufSeg = s.id;
    this.bufStart = off;
    this.bufLen = got;
  }

  /** Closes the descriptor of a deleted segment. */
  forget(id: number): void {
    const fdp = this.fds.get(id);
    this.fds.delete(id);
    if (this.bufSeg === id) this.bufSeg = -1;
    fdp?.then((fd) => close(fd, () => undefined), () => undefined);
  }

  close(): void {
    for (const id of [...this.fds.keys()]) this.forget(id);
  }
}
