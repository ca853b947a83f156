import { headerCount } from '../../core/event.ts';
import type { LineBatch } from '../../core/line-batch.ts';
import { headerBlockSize, PLAIN_ALLOC, PUT_FIRST_ENTRY, PUT_SHARED_HEADERS, SAME_AS_FIRST, sealPut, w32, writeHeaderBlock, type FrameAlloc } from './framing.ts';
import type { LineMover } from './line-mover.ts';

/**
 * Encodes a line batch as the same Put frame `encodePutBatch` makes of its
 * events, byte for byte, without a view per line.
 *
 * Each segment of lines (contiguous in its read buffer, separated by their
 * line ends) is copied in one piece to the end of the frame; then, first line
 * first, each line is moved down to its place (`copyWithin`, no allocation)
 * and its entry header is written before it. Per line that is a third of
 * copying each body from a view of its own. The first entry carries the
 * header block; every other one says SAME_AS_FIRST.
 *
 * Why nothing is overwritten before it is moved: let line j be followed by a
 * gap of g_j bytes in the copied segments (its line end, 0 at a segment's
 * end) and let each entry add E ≥ 10 bytes before its body (10, and the
 * header block for the first). When line i moves, lines before it are in place and end at F_i; the copy of line
 * i starts at C_i. Counting back from the frame's end, C_i - F_i equals the
 * sum over j ≥ i of (E - g_j), which is ≥ 0 because a gap is at most MAX_GAP
 * (2) < 10 ≤ E. Line i's own move may overlap its copy; copyWithin copies as
 * if through a temporary, so that is safe. Its entry header goes below its
 * new place, where only lines already moved were.
 *
 * With a `mover` (a file channel's), the entries after the first are made
 * by WebAssembly instead (line-mover.ts): the same bytes, at less cost.
 */
export function encodePutLines(lines: LineBatch, putTime: number, frames: FrameAlloc = PLAIN_ALLOC, mover?: LineMover): Buffer {
  const n = lines.count;
  const hn = headerCount(lines.headers);
  const h = hn > 0 ? headerBlockSize(lines.headers) : 0;
  const size = PUT_FIRST_ENTRY + n * 10 + (n > 0 ? h : 0) + lines.bytes;
  const b = frames.alloc(size);
  try {
    if (mover && n > 1 && mover.fits(lines.bytes + n * 2, n)) moveLinesWith(mover, b, lines, h, hn);
    else moveLines(b, lines, h, hn);
  } catch (err) {
    frames.discard(b);
    throw err;
  }
  sealPut(b, size, putTime, n, PUT_SHARED_HEADERS);
  return b;
}

/** Fills the entries of `b` (sized for them exactly) from the batch's segments; see encodePutLines. */
function moveLines(b: Buffer, lines: LineBatch, h: number, hn: number): void {
  const n = lines.count;
  const { starts, ends, bufs, segFrom, headers } = lines;
  const size = b.length;
  // the segments, back to back, at the end of the frame
  let region = 0;
  for (let k = 0; k < bufs.length; k++) {
    const last = (k + 1 < bufs.length ? segFrom[k + 1] : n) - 1;
    region += ends[last] - starts[segFrom[k]];
  }
  let c = size - region;
  let p = PUT_FIRST_ENTRY;
  for (let k = 0; k < bufs.length; k++) {
    const from = segFrom[k];
    const to = k + 1 < bufs.length ? segFrom[k + 1] : n;
    const base = starts[from];
    const segEnd = ends[to - 1];
    b.set(bufs[k].subarray(base, segEnd), c);
    const shift = c - base; // where a byte of this segment's buffer now sits in the frame
    for (let i = from; i < to; i++) {
      const start = p;
      const own = i === 0 ? h : 0;
      const body = start + 10 + own;
      const len = ends[i] - starts[i];
      b.copyWithin(body, starts[i] + shift, ends[i] + shift);
      w32(b, start, start);
      w32(b, start + 4, 2 + own + len);
      const count = i === 0 || hn === 0 ? hn : SAME_AS_FIRST;
      b[start + 8] = count & 0xff;
      b[start + 9] = count >>> 8;
      // the first entry's block goes in after its line moved out of the way
      if (own > 0) writeHeaderBlock(b, start + 10, headers);
      p = body + len;
    }
    c += segEnd - base;
  }
}

/** Fills the entries of `b` as moveLines does: the first one here, the rest of each segment by the mover. */
function moveLinesWith(mover: LineMover, b: Buffer, lines: LineBatch, h: number, hn: number): void {
  const n = lines.count;
  const { starts, ends, bufs, segFrom, headers } = lines;
  const count = hn === 0 ? 0 : SAME_AS_FIRST;
  let p = PUT_FIRST_ENTRY;
  for (let k = 0; k < bufs.length; k++) {
    let from = segFrom[k];
    const to = k + 1 < bufs.length ? segFrom[k + 1] : n;
    if (from === 0) {
      // the first entry carries the header block
      const len = ends[0] - starts[0];
      b.set(bufs[0].subarray(starts[0], ends[0]), p + 10 + h);
      w32(b, p, p);
      w32(b, p + 4, 2 + h + len);
      b[p + 8] = hn & 0xff;
      b[p + 9] = hn >>> 8;
      if (h > 0) writeHeaderBlock(b, p + 10, headers);
      p += 10 + h + len;
      from = 1;
    }
    if (from < to) p = mover.entries(b, p, bufs[k], starts[from], ends[to - 1], starts, ends, from, to, count);
  }
  if (p !== b.length) throw new RangeError(`line entries end at ${p}, their frame at ${b.length}`);
}
