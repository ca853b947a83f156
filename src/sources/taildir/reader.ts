import { close, fstatSync, open, read, readSync, constants, type Stats } from 'node:fs';
import type { BufferPool } from '../../core/buffer-pool.ts';
import { NewlineFinder } from './newline.ts';

/**
 * Reads one file by offset on an open descriptor, in large chunks, and splits
 * it into lines on `\n` (a `\r` before it is dropped). Hot path in bytes: the
 * lines handed out are ranges of the chunk they were read into (bytes of a
 * chunk that were handed out are never overwritten, so a range stays valid as
 * long as someone holds the chunk).
 *
 * `pos` is the file offset of the first byte not yet handed out: the position
 * a restart resumes from once the lines before it are committed. Bytes after
 * `pos` that have been read but end in no newline (a partial line) wait in the
 * buffer for the rest of the line; they are never emitted early.
 *
 * A line longer than `maxLineLength` bytes never makes the buffer grow past
 * that: in `split` mode it is handed out in pieces of `maxLineLength` bytes,
 * each marked `split: <piece number from 1>`; in `truncate` mode its first
 * `maxLineLength` bytes are handed out marked `truncated: true` and the rest,
 * up to the newline, is skipped.
 */
export type LongLines = 'split' | 'truncate';

export interface ReaderOptions {
  maxLineLength: number;
  longLines: LongLines;
  /** bytes per read(2); lines are split out of these chunks */
  chunkSize?: number;
  /**
   * Where chunks come from and go back to. With a pool, a chunk is reused once
   * nobody holds it: the sink must hold (or pin) every chunk it keeps a range of.
   */
  pool?: BufferPool;
  /** find line ends with Buffer#indexOf (true) or a word at a time (false); by default as the runtime does best (newline.ts); for tests */
  nativeIndexOf?: boolean;
}

/** A mark on a line that is not a whole line of the file. */
export type LineMark = undefined | { key: 'split' | 'truncated'; value: string };

/**
 * Called for each line: its bytes are `buf[start, end)` (without the line
 * end), `offset` is the file offset of its first byte. The range is handed
 * over rather than a view so a source that keeps lines as offsets
 * (`LineBatch`) makes no object per line.
 */
export type LineSink = (buf: Buffer, start: number, end: number, offset: number, mark: LineMark) => void;

export interface ReadResult {
  lines: number;
  /** the last read(2) returned no bytes: nothing more in the file right now */
  eof: boolean;
  /** a read(2) error: the caller decides whether the file is gone */
  error?: NodeJS.ErrnoException;
}

/** Below this much free room after the buffered bytes, a read gets a fresh buffer. */
const MIN_READ_ROOM = 16 * 1024;
/** What a caught-up reader keeps of its chunk (see `settle`): the bytes before `pos` that `bytesBefore` serves, ... */
const KEPT_BEFORE = 4096;
/** ... room for a live file's next appends, ... */
const SETTLED_ROOM = 32 * 1024;
/** ... and a partial line up to this long (a longer one keeps the chunk it is in). */
const SETTLED_MAX_PARTIAL = 64 * 1024;
const CR = 0x0d;
/**
 * Bytes per read of a backlog. 512 KiB holds about one and a half of quick mode's 2000-line batches (of
 * ~180-byte lines): a third of the batches lie in one chunk (none with 256 KiB), one segment for the file
 * channel to move instead of two, and there are half as many reads, each a trip through the thread pool.
 * bench-tail's child, 6 alternating runs: median 317 ms per million lines with 256 KiB, 291 with 512, 293
 * with 384; 1 MiB was no faster than 256 (BENCHMARKS.md). A reader caught up after a backlog gives its
 * chunk back (`settle`).
 */
const DEFAULT_CHUNK = 512 * 1024;
const TRUNCATED: LineMark = { key: 'truncated', value: 'true' };
const EMPTY = Buffer.alloc(0);

/** The read size a reader uses for a `chunkSize` option. */
export function chunkBytes(chunkSize: number | undefined): number {
  return Math.max(chunkSize ?? DEFAULT_CHUNK, 4096);
}

export function openRead(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // O_NOFOLLOW is not wanted (log dirs use symlinks); O_NONBLOCK keeps a FIFO from hanging us
    open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0), (err, fd) => (err ? reject(err) : resolve(fd)));
  });
}

/**
 * fstat of a descriptor we hold, synchronously (the only way the source
 * stats an open file): the inode is in memory, so this is a microsecond, where
 * the asynchronous call's round trip through the thread pool cost more than
 * the call itself on every read round of a live file. Null if it failed (the
 * descriptor's file is gone bad; a read reports why).
 */
export function fstatNow(fd: number): Stats | null {
  try {
    return fstatSync(fd);
  } catch {
    return null;
  }
}

/**
 * Reads expected to find at most this many bytes are made synchronously: a
 * live file's appends, just written and in the page cache, cost less to copy
 * than an asynchronous read's hand-off to the thread pool and back. Larger
 * reads (a backlog) stay asynchronous, so the event loop goes on while the
 * kernel copies.
 */
export const SYNC_READ_MAX = 64 * 1024;

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

function readP(fd: number, buf: Buffer, off: number, len: number, at: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, off, len, at, (err, n) => (err ? reject(err) : resolve(n))));
}

export class FileReader {
  fd: number | null = null;
  /** offset of the first byte not yet handed out (nor skipped) */
  pos: number;
  private buf: Buffer = EMPTY;
  /** buf[start, end) holds the file's bytes [pos, pos + end - start) */
  private start = 0;
  private end = 0;
  /** inside a split over-long line: number of the next piece */
  private piece = 0;
  /** truncate mode: dropping the rest of an over-long line */
  private skipping = false;
  private readonly chunk: number;
  private readonly newlines: NewlineFinder;

  /** bytes read since the reader last caught up with the file (half a chunk or more: a backlog) */
  private sinceCaughtUp = 0;

  /** counters the source reads */
  bytesRead = 0;
  linesSplit = 0;
  linesTruncated = 0;

  constructor(pos: number, private readonly opts: ReaderOptions) {
    this.pos = pos;
    this.chunk = chunkBytes(opts.chunkSize);
    this.newlines = new NewlineFinder(opts.nativeIndexOf);
  }

  /** Offset of the next byte to read from the file (pos plus the buffered partial line). */
  get readAt(): number {
    return this.pos + (this.end - this.start);
  }

  /** Bytes of buffer the reader keeps between reads (a chunk, or less once it caught up after a backlog). */
  get bufferBytes(): number {
    return this.buf.length;
  }

  /** Bytes buffered after `pos` (a partial line waiting for its newline). */
  get buffered(): number {
    return this.end - this.start;
  }

  /**
   * The `n` bytes of the file before `pos` as they were read, if the buffer
   * still holds them (a view; reads only ever fill the buffer after `end`, so
   * buf[i] is the file's byte at pos - (start - i) for every i below `end`).
   */
  bytesBefore(n: number): Buffer | undefined {
    return this.start >= n ? this.buf.subarray(this.start - n, this.start) : undefined;
  }

  /** Forget buffered bytes and continue from `pos` (after truncation, or to re-read). */
  reset(pos: number): void {
    this.pos = pos;
    this.opts.pool?.release(this.buf);
    this.buf = EMPTY;
    this.newlines.forget();
    this.start = this.end = 0;
    this.piece = 0;
    this.skipping = false;
    this.sinceCaughtUp = 0;
  }

  /**
   * Continue from `pos`, where `other` (a reader of a file with the same bytes: a copy's original) is: if that is
   * inside an over-long line, as `other` would go on (its next piece's number, or still skipping its rest).
   */
  resumeAs(pos: number, other: FileReader): void {
    this.reset(pos);
    if (pos !== other.pos) return;
    this.piece = other.piece;
    this.skipping = other.skipping;
  }

  /**
   * Hands up to `maxLines` lines to `sink`, and no more once `maxBytes` of
   * the file were handed out (the line that passes it is the last). Stops
   * early at end of file (a partial line stays buffered) or on a read error. `knownSize` is the
   * file's size as last seen: reads at most SYNC_READ_MAX before it are made
   * synchronously, each of at most SYNC_READ_MAX bytes; once reading has
   * passed it the file grew since, and reads go back to asynchronous.
   */
  async read(maxLines: number, sink: LineSink, knownSize = Infinity, maxBytes = Infinity): Promise<ReadResult> {
    const fd = this.fd;
    if (fd === null) return { lines: 0, eof: true };
    const max = this.opts.maxLineLength;
    const pool = this.opts.pool;
    const from = this.pos;
    let lines = 0;
    while (lines < maxLines && this.pos - from < maxBytes) {
      if (this.start < this.end) {
        const buf = this.buf;
        const s = this.start;
        const nl = this.newlines.next(buf, s, this.end);
        if (this.skipping) {
          const stop = nl < 0 ? this.end : nl + 1;
          this.pos += stop - s;
          this.start = stop;
          if (nl >= 0) this.skipping = false;
          continue;
        }
        if (nl >= 0) {
          let e = nl;
          if (e > s && buf[e - 1] === CR) e--;
          if (e - s > max) {
            this.emitLong(sink);
            lines++;
            continue;
          }
          let mark: LineMark;
          if (this.piece > 0) {
            mark = { key: 'split', value: String(this.piece) };
            this.piece = 0;
          }
          sink(buf, s, e, this.pos, mark);
          this.pos += nl + 1 - s;
          this.start = nl + 1;
          lines++;
          continue;
        }
        // Longer than max for sure only once a byte past max is here that is not the CR of a CRLF:
        // a line of exactly max bytes (plus CRLF) is a normal line, not the first piece of a split.
        const have = this.end - s;
        if (have > max + 1 || (have === max + 1 && buf[s + max] !== CR)) {
          this.emitLong(sink);
          lines++;
          continue;
        }
      }
      // need more bytes. Lines handed out are views below `end`, so only the room after `end` may be
      // written: read into it while it is large enough (a live file is read in small appends, and a
      // fresh chunk-sized buffer per read was the source's main garbage); else move the partial line
      // into a fresh chunk.
      const keep = this.end - this.start;
      const at = this.pos + keep;
      let target = this.buf;
      if (target.length - this.end < MIN_READ_ROOM) {
        const size = Math.max(this.chunk, keep + (this.chunk >> 1));
        if (pool) {
          target = pool.get(size, this.chunk);
          pool.hold(target);
        } else {
          target = Buffer.allocUnsafe(size);
        }
        if (keep > 0) this.buf.copy(target, 0, this.start, this.end);
        pool?.release(this.buf);
        this.buf = target;
        // the finder's views would keep the old chunk alive (an idle file holding two)
        this.newlines.forget();
        this.start = 0;
        this.end = keep;
      }
      const into = this.end;
      let n: number;
      // held while read(2) writes into it: a reset() meanwhile must not free it for another reader
      pool?.hold(target);
      try {
        // synchronous only up to the size last seen (and a little past it, capped): a file that grew
        // beyond it since is a backlog, read asynchronously, however stale `knownSize` was
        n = at <= knownSize && knownSize - at <= SYNC_READ_MAX
          ? readSync(fd, target, into, Math.min(target.length - into, SYNC_READ_MAX), at)
          : await readP(fd, target, into, target.length - into, at);
      } catch (err) {
        return { lines, eof: true, error: err as NodeJS.ErrnoException };
      } finally {
        pool?.release(target);
      }
      if (this.buf !== target || this.end !== into) return { lines, eof: true }; // reset() while reading: drop what was read
      if (n === 0) {
        // half a chunk or more since it last caught up: a backlog, not a live file's appends between rounds
        if (this.sinceCaughtUp >= this.chunk >> 1) this.settle();
        this.sinceCaughtUp = 0;
        return { lines, eof: true };
      }
      this.end += n;
      this.bytesRead += n;
      this.sinceCaughtUp += n;
    }
    return { lines, eof: false };
  }

  /**
   * Caught up with the file after reading a backlog: what the reader still needs of its chunk (the partial
   * line, and the KiB before `pos` that `bytesBefore` serves) moves into a small buffer with room for the next
   * appends, and the chunk goes back to the pool, for the next file's backlog, once no batch holds it.
   * Otherwise every file read from a backlog kept a chunk of its own until it was closed (`idleTimeout`):
   * 200 files of 1 MB held 264 MB of RSS with 512 KiB chunks, 173 MB with 256 KiB. A live file's reader,
   * reading less than half a chunk between one catch-up and the next, keeps its chunk and reads the next
   * appends into its room.
   */
  private settle(): void {
    const keep = this.end - this.start;
    if (this.buf.length < this.chunk || keep > SETTLED_MAX_PARTIAL) return;
    const before = Math.min(this.start, KEPT_BEFORE);
    const small = Buffer.allocUnsafe(before + keep + SETTLED_ROOM);
    this.buf.copy(small, 0, this.start - before, this.end);
    this.opts.pool?.release(this.buf);
    this.buf = small;
    this.newlines.forget();
    this.start = before;
    this.end = before + keep;
  }

  /** Hand out the first maxLineLength bytes of an over-long line. */
  private emitLong(sink: LineSink): void {
    const max = this.opts.maxLineLength;
    const s = this.start;
    if (this.opts.longLines === 'truncate') {
      sink(this.buf, s, s + max, this.pos, TRUNCATED);
      this.linesTruncated++;
      this.skipping = true;
    } else {
      if (this.piece === 0) {
        this.piece = 1;
        this.linesSplit++;
      }
      sink(this.buf, s, s + max, this.pos, { key: 'split', value: String(this.piece++) });
    }
    this.pos += max;
    this.start = s + max;
  }

  /**
   * The buffered partial line, handed out as a line of its own: used when the
   * file is finished for good (deleted or rotated away and drained), so its
   * last bytes are delivered rather than abandoned. Returns 1 if a line was emitted.
   */
  flushPartial(sink: LineSink): number {
    if (this.start >= this.end || this.skipping) {
      this.pos += this.end - this.start;
      this.start = this.end;
      return 0;
    }
    let e = this.end;
    if (this.buf[e - 1] === CR) e--;
    const mark: LineMark = this.piece > 0 ? { key: 'split', value: String(this.piece) } : undefined;
    sink(this.buf, this.start, e, this.pos, mark);
    this.pos += this.end - this.start;
    this.start = this.end;
    this.piece = 0;
    return 1;
  }

  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = null;
    // buffered bytes are re-read from `pos` when the file is opened again
    this.reset(this.pos);
    if (fd !== null) await closeFd(fd);
  }
}
