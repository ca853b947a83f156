/**
 * Sequential, synchronous scan of one segment in large reads: every frame is
 * checked (magic, length, CRC) and handed to a visitor; runs of bytes that are
 * not valid frames are reported as regions. Used by replay, inspect and verify.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { FlumeError } from '../../core/errors.ts';
import { checkFrame, FRAME_HEADER_SIZE, FRAME_MAGIC } from './framing.ts';

/**
 * The segment got shorter while it was scanned: a running agent is deleting
 * it a step at a time (removeSegmentFile). Reads past its new end return
 * nothing, and the scan would otherwise ask for the same bytes forever.
 */
export class SegmentShrankError extends FlumeError {
  constructor(readonly path: string, size: number, now: number) {
    super('SEGMENT_SHRANK', `${path} shrank from ${size} to ${now} bytes while it was read (a running agent is deleting it)`);
  }
}

export interface ScanVisitor {
  /** A valid frame; `buf` is only valid during the call. `off`/`end` are file offsets. */
  frame(type: number, buf: Buffer, payloadAt: number, length: number, off: number, end: number): void;
  /**
   * Bytes `[off, off + length)` hold no valid frame, and a valid frame follows them. `unwritten`: every
   * one of them is zero, as where a write had not reached the disk when the process died while a later
   * one had (group commit keeps two cycles of writes in flight; a cycle is acknowledged only once every
   * earlier one landed, so on storage that honours fsync such a hole never held an acknowledged record).
   */
  corrupt(off: number, length: number, reason: string, unwritten: boolean): void;
}

export interface ScanResult {
  fileSize: number;
  /** Offset just after the last valid frame (or the start offset). */
  validEnd: number;
  /** Invalid bytes running to the end of the file (a torn tail, or corruption with nothing valid after it). */
  trailing?: { off: number; length: number; reason: string; unwritten: boolean };
}

const TRUNCATED_HEADER = 'truncated frame header';
const RUNS_PAST_END = 'frame runs past the end of the file';
/** The reasons the scan gives for a frame cut short by the end of the file (a short write). */
export const CUT_SHORT: ReadonlySet<string> = new Set([TRUNCATED_HEADER, RUNS_PAST_END]);

const ZEROS = Buffer.alloc(64 * 1024);

/** True if every byte of `[off, off + length)` in the file is zero (read again: regions are rare and may be large). */
function allZero(path: string, fd: number, fileSize: number, off: number, length: number): boolean {
  const b = Buffer.allocUnsafe(Math.min(length, ZEROS.length));
  for (let at = off; at < off + length; ) {
    const n = readSync(fd, b, 0, Math.min(b.length, off + length - at), at);
    if (n === 0) throw new SegmentShrankError(path, fileSize, at);
    if (!b.subarray(0, n).equals(ZEROS.subarray(0, n))) return false;
    at += n;
  }
  return true;
}

const MAGIC = Buffer.from([FRAME_MAGIC & 0xff, FRAME_MAGIC >> 8]);
export const SCAN_CHUNK = 4 << 20;

/** A read buffer reused across segments (a fresh 4 MiB per segment would be garbage the GC is slow to return). */
export class ScanBuffer {
  buf = Buffer.allocUnsafe(SCAN_CHUNK);
}

export function scanSegment(path: string, from: number, visitor: ScanVisitor, onBytes?: (n: number) => void, shared = new ScanBuffer()): ScanResult {
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    let buf = shared.buf;
    let bufStart = 0;
    let bufLen = 0;
    const load = (off: number, need: number): void => {
      if (need > buf.length) buf = shared.buf = Buffer.allocUnsafe(need);
      const want = Math.min(buf.length, fileSize - off);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, buf, got, want - got, off + got);
        if (n === 0) throw new SegmentShrankError(path, fileSize, off + got);
        got += n;
      }
      onBytes?.(Math.max(0, off + got - (bufStart + bufLen)));
      bufStart = off;
      bufLen = got;
    };
    let off = from;
    let validEnd = from;
    let badStart = -1;
    let badReason = '';
    while (off < fileSize) {
      if (off < bufStart || off + FRAME_HEADER_SIZE > bufStart + bufLen) {
        if (fileSize - off >= FRAME_HEADER_SIZE || off < bufStart) load(off, FRAME_HEADER_SIZE);
      }
      let r = checkFrame(buf, off - bufStart, bufLen);
      if (r.kind === 'short') {
        if (off + r.need <= fileSize) {
          load(off, r.need);
          continue;
        }
        r = { kind: 'bad', reason: off + FRAME_HEADER_SIZE > fileSize ? TRUNCATED_HEADER : RUNS_PAST_END };
      }
      if (r.kind === 'ok') {
        if (badStart >= 0) {
          visitor.corrupt(badStart, off - badStart, badReason, allZero(path, fd, fileSize, badStart, off - badStart));
          badStart = -1;
        }
        const end = off + FRAME_HEADER_SIZE + r.length;
        visitor.frame(r.type, buf, off - bufStart + FRAME_HEADER_SIZE, r.length, off, end);
        off = end;
        validEnd = end;
        continue;
      }
      if (badStart < 0) {
        badStart = off;
        badReason = r.reason;
      }
      // step over: the next candidate is the next place the frame magic appears (at candidate + 4)
      let next = -1;
      for (;;) {
        const j = buf.indexOf(MAGIC, Math.max(0, off + 1 - bufStart) + 4);
        if (j >= 0 && j - 4 + bufStart > off) {
          next = bufStart + j - 4;
          break;
        }
        const scanned = bufStart + bufLen;
        if (scanned >= fileSize) break;
        load(Math.max(off + 1, scanned - FRAME_HEADER_SIZE), FRAME_HEADER_SIZE);
      }
      off = next >= 0 ? next : fileSize;
    }
    const trailing = badStart >= 0
      ? { off: badStart, length: fileSize - badStart, reason: badReason, unwritten: allZero(path, fd, fileSize, badStart, fileSize - badStart) }
      : undefined;
    return { fileSize, validEnd, ...(trailing ? { trailing } : {}) };
  } finally {
    closeSync(fd);
  }
}
