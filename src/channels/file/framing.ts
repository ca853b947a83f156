/**
 * The on-disk format, version 2 (docs/file-channel.md).
 *
 * A segment file starts with a 40-byte versioned header, then holds frames back to back:
 *
 *   frame = crc32:u32 | magic:u16 (0xF17E) | type:u8 | flags:u8 | length:u32 | payload[length]
 *           (little-endian; the CRC-32 covers everything after itself: magic … payload)
 *
 * A put batch is ONE Put frame, so it is atomic on disk: a torn batch fails its
 * CRC and is never read as data. The magic lets a reader find the next frame
 * after a damaged one.
 *
 *   Put payload  = putTime:f64 | count:u32 | entry*
 *   entry        = back:u32 (offset of the entry from its frame's start) | length:u32 (of what follows)
 *                  | headerCount:u16 | (keyLen:u16 key valueLen:u32 value)* | body (the rest)
 *                  headerCount 0xFFFF (SAME_AS_FIRST, version 2): no header block, the headers are
 *                  those of the frame's first entry, and so are those of every entry between
 *   Take payload = count:u32 | spanCount:u32 | (startSeg:u32 startOff:u32 endSeg:u32 endOff:u32)*
 *
 * A log position is (segment id, byte offset). An event is named by the
 * position of its entry; `back` leads from there to its frame, so a take can
 * resume in the middle of a batch after a restart without scanning.
 */
import { headerCount, sameHeaders } from '../../core/event.ts';
import { crc32 } from './crc32.ts';

export const SEGMENT_MAGIC = 'FTWALSEG';
/** 2: entries may say their headers are their frame's first entry's (SAME_AS_FIRST); 1 had no such entries. */
export const FORMAT_VERSION = 2;
export const SEGMENT_HEADER_SIZE = 40;

export const FRAME_MAGIC = 0xf17e;
export const FRAME_HEADER_SIZE = 12;
/** Offset of the first entry from the start of a Put frame. */
export const PUT_FIRST_ENTRY = FRAME_HEADER_SIZE + 12;
/**
 * An entry's header count that means "no header block here: my headers are
 * my frame's first entry's". A file's lines all carry its `file` header, so
 * in quick mode every entry repeated ~50 bytes a line of ~170 needs once per
 * record. An encoder writes it only while every entry so far in the frame has
 * the first entry's headers, so "the first entry's" is also "the previous
 * entry's": a walk keeps the last block it saw, and one that starts in the
 * middle of a frame finds the block through `back`.
 */
export const SAME_AS_FIRST = 0xffff;
/**
 * Put frame flag: no entry but the first has a header block (every other
 * says SAME_AS_FIRST, or all have no headers), so the bytes of a run's bodies
 * follow from its length and count without a walk (entryBodyBytes). Set by
 * both encoders when it holds (always, for lines); a reader that does
 * not know it reads the frame as before.
 */
export const PUT_SHARED_HEADERS = 1;
/** Frames above this are treated as corrupt lengths (no batch is that large). */
export const MAX_FRAME_PAYLOAD = 1 << 30;

export const FrameType = {
  Put: 1,
  Take: 3,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

// ---- positions: a place in the log, as one exact integer (segment id in the high part) ----

const SEG = 2 ** 32;
export function pos(seg: number, off: number): number {
  return seg * SEG + off;
}
export function segOf(p: number): number {
  return Math.floor(p / SEG);
}
export function offOf(p: number): number {
  return p % SEG;
}
export function fmtPos(p: number): string {
  return `${segOf(p)}:${offOf(p)}`;
}

// ---- segment header ----

export interface SegmentHeader {
  version: number;
  headerSize: number;
  id: number;
  createdAt: number;
}

export function encodeSegmentHeader(id: number, createdAt: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_SIZE);
  b.write(SEGMENT_MAGIC, 0, 'latin1');
  b.writeUInt16LE(FORMAT_VERSION, 8);
  b.writeUInt16LE(SEGMENT_HEADER_SIZE, 10);
  b.writeUInt32LE(0, 12); // flags, none defined
  b.writeUInt32LE(id % SEG, 16);
  b.writeUInt32LE(Math.floor(id / SEG), 20);
  b.writeDoubleLE(createdAt, 24);
  b.writeUInt32LE(0, 32); // reserved
  b.writeUInt32LE(crc32(b, 0, 36), 36);
  return b;
}

export type HeaderResult = { ok: true; header: SegmentHeader } | { ok: false; reason: string };

export function decodeSegmentHeader(b: Buffer): HeaderResult {
  if (b.length < SEGMENT_HEADER_SIZE) return { ok: false, reason: `short header (${b.length} bytes)` };
  if (b.toString('latin1', 0, 8) !== SEGMENT_MAGIC) return { ok: false, reason: 'not a flume-tail segment (bad magic)' };
  if (b.readUInt32LE(36) !== crc32(b, 0, 36)) return { ok: false, reason: 'header checksum mismatch' };
  const version = b.readUInt16LE(8);
  const headerSize = b.readUInt16LE(10);
  const id = b.readUInt32LE(16) + b.readUInt32LE(20) * SEG;
  return { ok: true, header: { version, headerSize, id, createdAt: b.readDoubleLE(24) } };
}

// ---- frames ----

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function writeFrameHeader(b: Buffer, at: number, type: FrameType, length: number, flags = 0): void {
  b.writeUInt16LE(FRAME_MAGIC, at + 4);
  b[at + 6] = type;
  b[at + 7] = flags;
  b.writeUInt32LE(length, at + 8);
}

function sealFrame(b: Buffer, at: number, length: number): void {
  b.writeUInt32LE(crc32(b, at + 4, at + FRAME_HEADER_SIZE + length), at);
}

export type FrameCheck =
  | { kind: 'ok'; type: number; length: number }
  /** Not enough bytes in the buffer to decide (a torn tail, or read more). */
  | { kind: 'short'; need: number }
  | { kind: 'bad'; reason: string };

/** Checks the frame at `at` in `b[.., end)`: magic, plausible length, CRC. */
export function checkFrame(b: Uint8Array, at: number, end: number): FrameCheck {
  if (end - at < FRAME_HEADER_SIZE) return { kind: 'short', need: FRAME_HEADER_SIZE };
  if ((b[at + 4] | (b[at + 5] << 8)) !== FRAME_MAGIC) return { kind: 'bad', reason: 'bad frame magic' };
  const length = u32(b, at + 8);
  if (length > MAX_FRAME_PAYLOAD) return { kind: 'bad', reason: `implausible frame length ${length}` };
  const total = FRAME_HEADER_SIZE + length;
  if (end - at < total) return { kind: 'short', need: total };
  if (u32(b, at) !== crc32(b, at + 4, at + total)) return { kind: 'bad', reason: 'checksum mismatch' };
  return { kind: 'ok', type: b[at + 6], length };
}

/** Offset of the next place in `b[from, end)` that holds a valid frame, or -1 (used to step over corruption). */
export function resync(b: Uint8Array, from: number, end: number): number {
  for (let i = from; i + FRAME_HEADER_SIZE <= end; i++) {
    if (b[i + 4] !== (FRAME_MAGIC & 0xff) || b[i + 5] !== FRAME_MAGIC >> 8) continue;
    if (checkFrame(b, i, end).kind === 'ok') return i;
  }
  return -1;
}

// ---- put batches ----

export interface EventLike {
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Writes `str` as UTF-8 at `at` (ASCII by hand: much cheaper than Buffer#write for short strings); returns the byte count. */
function writeStr(b: Buffer, str: string, at: number): number {
  const n = str.length;
  for (let i = 0; i < n; i++) {
    const c = str.charCodeAt(i);
    if (c >= 0x80) return b.write(str, at, 'utf8');
    b[at + i] = c;
  }
  return n;
}

/** Where a put frame's bytes come from: a buffer of `size`, and cutting it to what was used. */
export interface FrameAlloc {
  alloc(size: number): Buffer;
  trim(frame: Buffer, size: number): Buffer;
  /** The frame will not be written (its encoding failed): its room goes back. */
  discard(frame: Buffer): void;
}

export const PLAIN_ALLOC: FrameAlloc = {
  alloc: (size) => Buffer.allocUnsafe(size),
  trim: (frame, size) => (size === frame.length ? frame : frame.subarray(0, size)),
  discard: () => undefined,
};

/**
 * Encodes a put batch as one Put frame (one buffer, one write, one CRC).
 * Consecutive events usually carry the same headers (same file, same host):
 * their header block is encoded once and copied.
 */
export function encodePutBatch(events: readonly EventLike[], putTime: number, frames: FrameAlloc = PLAIN_ALLOC): Buffer {
  // room for the worst case (3 UTF-8 bytes per UTF-16 unit); the frame is cut to its real size
  let size = PUT_FIRST_ENTRY;
  let withHeaders = false;
  let prev: Record<string, string> | undefined;
  let prevCount = 0;
  let prevSize = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    size += 10 + e.body.byteLength;
    if (!sameHeaders(e.headers, prev, prevCount)) {
      prev = e.headers;
      prevCount = 0;
      prevSize = 0;
      for (const k in prev) {
        prevCount++;
        prevSize += 6 + 3 * (k.length + prev[k].length);
      }
    }
    if (prevCount > 0) withHeaders = true;
    size += prevSize;
  }
  const b = frames.alloc(size);
  try {
    return encodeInto(b, events, putTime, frames, withHeaders);
  } catch (err) {
    frames.discard(b);
    throw err;
  }
}

function encodeInto(b: Buffer, events: readonly EventLike[], putTime: number, frames: FrameAlloc, withHeaders: boolean): Buffer {
  let p = PUT_FIRST_ENTRY;
  // the previous event's headers and where their encoded block sits in `b`
  let prev: Record<string, string> | undefined;
  let prevCount = 0;
  let blockAt = 0;
  let blockEnd = 0;
  // every entry so far has the first entry's headers: an equal one says so instead of a block
  let asFirst = withHeaders;
  // no entry after the first has a block of its own (PUT_SHARED_HEADERS)
  let shared = true;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const start = p;
    w32(b, p, start);
    p += 10;
    let n = 0;
    const same = withHeaders && sameHeaders(e.headers, prev, prevCount);
    if (same && asFirst && prevCount > 0) {
      n = SAME_AS_FIRST;
    } else if (same) {
      b.copyWithin(p, blockAt, blockEnd);
      p += blockEnd - blockAt;
      n = prevCount;
    } else if (withHeaders) {
      asFirst = i === 0;
      blockAt = p;
      n = headerCount(e.headers);
      p = writeHeaderBlock(b, p, e.headers);
      blockEnd = p;
      prev = e.headers;
      prevCount = n;
    }
    if (i > 0 && n !== 0 && n !== SAME_AS_FIRST) shared = false;
    b[start + 8] = n & 0xff;
    b[start + 9] = n >>> 8;
    b.set(e.body, p);
    p += e.body.byteLength;
    w32(b, start + 4, p - start - 8);
  }
  const frame = frames.trim(b, p);
  sealPut(frame, p, putTime, events.length, shared ? PUT_SHARED_HEADERS : 0);
  return frame;
}

/** Writes an entry's header block (keyLen:u16 key valueLen:u32 value)* at `p`; returns where it ends. */
export function writeHeaderBlock(b: Buffer, p: number, headers: Record<string, string>): number {
  let n = 0;
  for (const k in headers) {
    const kl = writeStr(b, k, p + 2);
    if (kl > 0xffff) throw new RangeError('a header name longer than 65535 bytes');
    b[p] = kl & 0xff;
    b[p + 1] = kl >>> 8;
    p += 2 + kl;
    const vl = writeStr(b, headers[k], p + 4);
    w32(b, p, vl);
    p += 4 + vl;
    n++;
  }
  if (n >= SAME_AS_FIRST) throw new RangeError('more than 65534 headers on one event');
  return p;
}

/** Bytes of the header block `writeHeaderBlock` writes for `headers`. */
export function headerBlockSize(headers: Record<string, string>): number {
  let size = 0;
  for (const k in headers) size += 6 + Buffer.byteLength(k) + Buffer.byteLength(headers[k]);
  return size;
}

/** Fills in a Put frame's header and count and seals it; `end` is where its last entry ends. */
export function sealPut(frame: Buffer, end: number, putTime: number, count: number, flags = 0): void {
  writeFrameHeader(frame, 0, FrameType.Put, end - FRAME_HEADER_SIZE, flags);
  frame.writeDoubleLE(putTime, FRAME_HEADER_SIZE);
  w32(frame, FRAME_HEADER_SIZE + 8, count);
  sealFrame(frame, 0, end - FRAME_HEADER_SIZE);
}

export function w32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = v >>> 24;
}

export function putTimeOf(b: Buffer, frameAt: number): number {
  return b.readDoubleLE(frameAt + FRAME_HEADER_SIZE);
}

export function putCountOf(b: Uint8Array, frameAt: number): number {
  return u32(b, frameAt + FRAME_HEADER_SIZE + 8);
}

/** `back` field of the entry at `at`: its distance from the frame start. */
export function entryBack(b: Uint8Array, at: number): number {
  return u32(b, at);
}

/** Decodes `b[s, e)` as UTF-8; short ASCII by hand (cheaper than Buffer#toString for a few bytes). */
function readStr(b: Buffer, s: number, e: number): string {
  if (e - s > 24) return b.toString('utf8', s, e);
  let out = '';
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c >= 0x80) return b.toString('utf8', s, e);
    out += String.fromCharCode(c);
  }
  return out;
}

/** True when `b[a, a + n)` equals `b[c, c + n)`. */
function sameBytes(b: Uint8Array, a: number, c: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[a + i] !== b[c + i]) return false;
  return true;
}

/**
 * Decodes entries of a verified Put frame from `b[from, end)` into `out` until
 * it holds `max`. Bodies are views into `b`, which the caller keeps unwritten
 * for as long as the events live (a take's buffers are pinned once decoded,
 * read-buffers.ts). Header strings equal to the previous event's (the usual
 * case: same host, same file) are reused, not decoded again, and an event whose
 * headers are all the previous event's (or the frame's first entry's, which
 * SAME_AS_FIRST says) shares its headers object, frozen (what a take hands out
 * goes to sinks, which only read it). A SAME_AS_FIRST entry before any block
 * takes its frame's first entry's headers, found through `back` (so `b` holds
 * the whole frame), or from `block` when the caller has them elsewhere.
 * Returns the offset after the last entry decoded.
 */
export function decodeEntries(b: Buffer, from: number, end: number, max: number, out: EventLike[], block?: { at: number; count: number }): number {
  const { stop } = spanEntries(b, from, end, max - out.length);
  let p: number;
  // previous event's header strings: [byte offset, byte length, string] per slot
  const prevAt: number[] = [];
  const prevLen: number[] = [];
  const prevStr: string[] = [];
  let prevHeaders: Record<string, string> | undefined;
  let prevCount = -1;
  // the headers SAME_AS_FIRST stands for: the last block's (see SAME_AS_FIRST)
  let firstHeaders: Record<string, string> | undefined;
  p = from;
  while (p < stop) {
    const len = u32(b, p + 4);
    const entryEnd = p + 8 + len;
    const hn = b[p + 8] | (b[p + 9] << 8);
    if (hn === SAME_AS_FIRST) {
      if (!firstHeaders) {
        const at = block ?? firstBlock(b, p);
        firstHeaders = decodeHeaderBlock(b, at.at, at.count);
      }
      if (!Object.isFrozen(firstHeaders)) Object.freeze(firstHeaders);
      out.push({ headers: firstHeaders, body: new Uint8Array(b.buffer, b.byteOffset + p + 10, entryEnd - p - 10) });
      p = entryEnd;
      continue;
    }
    let q = p + 10;
    // stays true while every header so far is the previous event's, in the same slot
    let same = hn === prevCount && prevHeaders !== undefined;
    // built only once the headers differ from the previous event's
    let headers: Record<string, string> | undefined = same ? undefined : {};
    for (let i = 0; i < hn; i++) {
      const kl = b[q] | (b[q + 1] << 8);
      const ks = q + 2;
      const vl = u32(b, ks + kl);
      const vs = ks + kl + 4;
      const kslot = 2 * i;
      const vslot = kslot + 1;
      const kSame = prevLen[kslot] === kl && sameBytes(b, prevAt[kslot], ks, kl);
      const vSame = prevLen[vslot] === vl && sameBytes(b, prevAt[vslot], vs, vl);
      const k = kSame ? prevStr[kslot] : readStr(b, ks, ks + kl);
      const v = vSame ? prevStr[vslot] : readStr(b, vs, vs + vl);
      if (same && !(kSame && vSame)) {
        same = false;
        headers = {};
        for (let j = 0; j < i; j++) headers[prevStr[2 * j]] = prevStr[2 * j + 1];
      }
      prevAt[kslot] = ks;
      prevLen[kslot] = kl;
      prevStr[kslot] = k;
      prevAt[vslot] = vs;
      prevLen[vslot] = vl;
      prevStr[vslot] = v;
      if (headers) headers[k] = v;
      q = vs + vl;
    }
    if (q > entryEnd) throw new RangeError('event headers overrun their entry');
    let h: Record<string, string>;
    if (headers) h = headers;
    else {
      h = prevHeaders!;
      if (!Object.isFrozen(h)) Object.freeze(h);
    }
    prevHeaders = h;
    prevCount = hn;
    if (hn > 0) firstHeaders = h;
    // a plain Uint8Array view: cheaper to make than a Buffer slice, and bodies are Uint8Array anyway
    out.push({ headers: h, body: new Uint8Array(b.buffer, b.byteOffset + q, entryEnd - q) });
    p = entryEnd;
  }
  return stop;
}

/**
 * The header block a SAME_AS_FIRST entry at `p` stands for: its frame's first
 * entry's, which `back` leads to (`b` holds the whole frame).
 */
export function firstBlock(b: Uint8Array, p: number): { at: number; count: number; len: number } {
  const first = p - u32(b, p) + PUT_FIRST_ENTRY;
  const count = b[first + 8] | (b[first + 9] << 8);
  if (first < PUT_FIRST_ENTRY || first > p || count === SAME_AS_FIRST) throw new RangeError('an entry refers to headers its frame does not hold');
  return { at: first + 10, count, len: blockLength(b, first + 10, count) };
}

/** Bytes of the header block of `n` headers at `at`. */
function blockLength(b: Uint8Array, at: number, n: number): number {
  let q = at;
  for (let i = 0; i < n; i++) {
    const kl = b[q] | (b[q + 1] << 8);
    q += 2 + kl + 4 + u32(b, q + 2 + kl);
  }
  return q - at;
}

// ---- entries handed out as bytes ----

/**
 * Whole entries of one Put record that a take claimed: `buf[from, to)` holds
 * `count` of them. `buf` is never written again (a fresh read buffer, or a
 * record the writer keeps), so a run may be held as long as the take is open.
 * A sink that can work on bytes encodes from these directly; everyone else
 * gets them decoded into events.
 */
export interface EntryRun {
  buf: Buffer;
  from: number;
  to: number;
  count: number;
  /**
   * Where the header block that leading SAME_AS_FIRST entries stand for lies
   * in `buf`, when the run's bytes are not inside their whole frame (the
   * encoder thread's copy). Absent: found through the first entry's `back`.
   */
  blockAt?: number;
  blockCount?: number;
  /**
   * The run lies in its whole frame (from the frame's start) and that frame
   * says PUT_SHARED_HEADERS: set by the log reader from the frame it
   * verified, never on a copy.
   */
  sharedHeaders?: boolean;
}

/**
 * The header block a run's leading SAME_AS_FIRST entries stand for, when its
 * first entry is one (`count` -1 when it is not: the run carries its own).
 */
export function runBlock(r: EntryRun): { at: number; count: number; len: number } {
  if (r.from >= r.to || (r.buf[r.from + 8] | (r.buf[r.from + 9] << 8)) !== SAME_AS_FIRST) return { at: 0, count: -1, len: 0 };
  if (r.blockAt !== undefined) {
    const count = r.blockCount ?? 0;
    return { at: r.blockAt, count, len: blockLength(r.buf, r.blockAt, count) };
  }
  return firstBlock(r.buf, r.from);
}

/** The bytes of the bodies of a run's entries (what a sink that only counts needs: no header is read). */
export function entryBodyBytes(r: EntryRun): number {
  const b = r.buf;
  if (r.sharedHeaders && r.count > 0) {
    // in a frame whose only header block is its first entry's, every entry is 10 bytes and its body
    const first = r.from - u32(b, r.from) + PUT_FIRST_ENTRY;
    const hn = r.from === first ? b[first + 8] | (b[first + 9] << 8) : 0;
    return r.to - r.from - 10 * r.count - (hn === 0 ? 0 : blockLength(b, first + 10, hn));
  }
  let bytes = 0;
  for (let p = r.from; p < r.to; ) {
    const len = u32(b, p + 4);
    const hn = b[p + 8] | (b[p + 9] << 8);
    bytes += len - 2 - (hn === 0 || hn === SAME_AS_FIRST ? 0 : blockLength(b, p + 10, hn));
    p += 8 + len;
  }
  return bytes;
}

/**
 * How far `b[from, end)` goes with at most `max` entries, none starting at or after `startBefore`: the end of
 * the last one, and how many.
 */
export function spanEntries(b: Uint8Array, from: number, end: number, max: number, startBefore = end): { stop: number; count: number } {
  let p = from;
  let count = 0;
  const stop = Math.min(end, startBefore);
  while (p < stop && count < max) {
    p += 8 + u32(b, p + 4);
    count++;
  }
  if (p > end) throw new RangeError('entry overruns its frame');
  return { stop: p, count };
}

/**
 * Where the parts of one entry lie (filled in by `layoutEntry`; one object
 * reused across the entries of a run, started by `startRun`).
 */
export interface EntryLayout {
  /** first byte of the header block (for a SAME_AS_FIRST entry, the block it stands for) */
  headersAt: number;
  /** its bytes */
  headersLen: number;
  headerCount: number;
  /** where the body starts */
  bodyAt: number;
  /** end of the body = start of the next entry */
  end: number;
  /** the block SAME_AS_FIRST stands for in this run so far: the last one seen (blockAt -1: none yet) */
  blockAt: number;
  blockLen: number;
  blockCount: number;
}

export function newLayout(): EntryLayout {
  return { headersAt: 0, headersLen: 0, headerCount: 0, bodyAt: 0, end: 0, blockAt: -1, blockLen: 0, blockCount: 0 };
}

/** Readies `out` for a walk over the entries of `r` (the block its leading SAME_AS_FIRST entries stand for). */
export function startRun(r: EntryRun, out: EntryLayout): void {
  const block = runBlock(r);
  out.blockAt = block.count >= 0 ? block.at : -1;
  out.blockLen = block.len;
  out.blockCount = block.count;
}

export function layoutEntry(b: Uint8Array, p: number, out: EntryLayout): void {
  const end = p + 8 + u32(b, p + 4);
  const hn = b[p + 8] | (b[p + 9] << 8);
  if (hn === SAME_AS_FIRST) {
    if (out.blockAt < 0) throw new RangeError('an entry refers to headers its run does not hold');
    out.headersAt = out.blockAt;
    out.headersLen = out.blockLen;
    out.headerCount = out.blockCount;
    out.bodyAt = p + 10;
    out.end = end;
    return;
  }
  const len = blockLength(b, p + 10, hn);
  if (p + 10 + len > end) throw new RangeError('event headers overrun their entry');
  out.headersAt = p + 10;
  out.headersLen = len;
  out.headerCount = hn;
  out.bodyAt = p + 10 + len;
  out.end = end;
  if (hn > 0) {
    out.blockAt = p + 10;
    out.blockLen = len;
    out.blockCount = hn;
  }
}

/** The headers of a header block of `n` headers at `at`, as an object. */
export function decodeHeaderBlock(b: Buffer, at: number, n: number): Record<string, string> {
  const headers: Record<string, string> = {};
  let q = at;
  for (let i = 0; i < n; i++) {
    const kl = b[q] | (b[q + 1] << 8);
    const ks = q + 2;
    const vl = u32(b, ks + kl);
    const vs = ks + kl + 4;
    headers[readStr(b, ks, ks + kl)] = readStr(b, vs, vs + vl);
    q = vs + vl;
  }
  return headers;
}

/** Decodes runs into events (bodies are views into the runs' buffers). */
export function decodeRuns(runs: readonly EntryRun[], out: EventLike[]): void {
  for (const r of runs) decodeEntries(r.buf, r.from, r.to, Infinity, out, r.blockAt !== undefined ? { at: r.blockAt, count: r.blockCount ?? 0 } : undefined);
}

// ---- takes ----

/** A half-open span of log positions [start, end); the entries that start inside it are the events it stands for. */
export interface Range {
  start: number;
  end: number;
}

export function encodeTake(count: number, ranges: readonly Range[]): Buffer {
  const length = 8 + ranges.length * 16;
  const b = Buffer.allocUnsafe(FRAME_HEADER_SIZE + length);
  writeFrameHeader(b, 0, FrameType.Take, length);
  let p = FRAME_HEADER_SIZE;
  b.writeUInt32LE(count, p);
  b.writeUInt32LE(ranges.length, p + 4);
  p += 8;
  for (const r of ranges) {
    b.writeUInt32LE(segOf(r.start), p);
    b.writeUInt32LE(offOf(r.start), p + 4);
    b.writeUInt32LE(segOf(r.end), p + 8);
    b.writeUInt32LE(offOf(r.end), p + 12);
    p += 16;
  }
  sealFrame(b, 0, length);
  return b;
}

export function decodeTake(b: Buffer, at: number): { count: number; ranges: Range[] } {
  const count = b.readUInt32LE(at);
  const n = b.readUInt32LE(at + 4);
  const ranges: Range[] = [];
  let p = at + 8;
  for (let i = 0; i < n; i++) {
    ranges.push({ start: pos(b.readUInt32LE(p), b.readUInt32LE(p + 4)), end: pos(b.readUInt32LE(p + 8), b.readUInt32LE(p + 12)) });
    p += 16;
  }
  return { count, ranges };
}
