/**
 * The on-disk format (see docs/file-channel.md).
 *
 * A segment file starts with a versioned header, then holds frames back to back:
 *
 *   frame  = crc32c:u32 | magic:u16 (0xF17E) | type:u8 | flags:u8 | length:u32 | payload[length]
 *            (little-endian; the CRC covers everything after itself: magic … payload)
 *
 * The magic lets a reader find the next frame after a corrupt one; the CRC
 * tells a torn or flipped record from data, so neither is ever parsed as an event.
 */
import { crc32c } from './crc32c.ts';

export const SEGMENT_MAGIC = 'FTWALSEG';
export const FORMAT_VERSION = 1;
export const SEGMENT_HEADER_SIZE = 40;

export const FRAME_MAGIC = 0xf17e;
export const FRAME_HEADER_SIZE = 12;
/** Frames above this are treated as corrupt lengths (no event batch is that large). */
export const MAX_FRAME_PAYLOAD = 1 << 30;

export const FrameType = {
  /** One event: putTime:f64 | headerCount:u16 | (keyLen:u16 key valueLen:u32 value)* | body (rest). */
  Event: 1,
  /** Ends a put batch: count:u32. Events before it (since the previous seal) are committed. */
  Commit: 2,
  /** A committed take: count:u32 | rangeCount:u32 | (startSeg:u32 startOff:u32 endSeg:u32 endOff:u32)*. */
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
  b.writeUInt32LE(0, 12); // flags, none defined in version 1
  b.writeUInt32LE(id % SEG, 16);
  b.writeUInt32LE(Math.floor(id / SEG), 20);
  b.writeDoubleLE(createdAt, 24);
  b.writeUInt32LE(0, 32); // reserved
  b.writeUInt32LE(crc32c(b, 0, 36), 36);
  return b;
}

export type HeaderResult = { ok: true; header: SegmentHeader } | { ok: false; reason: string };

export function decodeSegmentHeader(b: Buffer): HeaderResult {
  if (b.length < SEGMENT_HEADER_SIZE) return { ok: false, reason: `short header (${b.length} bytes)` };
  if (b.toString('latin1', 0, 8) !== SEGMENT_MAGIC) return { ok: false, reason: 'not a flume-tail segment (bad magic)' };
  if (b.readUInt32LE(36) !== crc32c(b, 0, 36)) return { ok: false, reason: 'header checksum mismatch' };
  const version = b.readUInt16LE(8);
  const headerSize = b.readUInt16LE(10);
  const id = b.readUInt32LE(16) + b.readUInt32LE(20) * SEG;
  return { ok: true, header: { version, headerSize, id, createdAt: b.readDoubleLE(24) } };
}

// ---- frames ----

function writeFrameHeader(b: Buffer, at: number, type: FrameType, length: number): void {
  b.writeUInt16LE(FRAME_MAGIC, at + 4);
  b[at + 6] = type;
  b[at + 7] = 0;
  b.writeUInt32LE(length, at + 8);
}

function sealFrame(b: Buffer, at: number, length: number): void {
  b.writeUInt32LE(crc32c(b, at + 4, at + FRAME_HEADER_SIZE + length), at);
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
  const length = (b[at + 8] | (b[at + 9] << 8) | (b[at + 10] << 16) | (b[at + 11] << 24)) >>> 0;
  if (length > MAX_FRAME_PAYLOAD) return { kind: 'bad', reason: `implausible frame length ${length}` };
  const total = FRAME_HEADER_SIZE + length;
  if (end - at < total) return { kind: 'short', need: total };
  const stored = (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
  if (stored !== crc32c(b, at + 4, at + total)) return { kind: 'bad', reason: 'checksum mismatch' };
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

// ---- events ----

/** Encodes a put batch: one Event frame per event, then a Commit frame, in one buffer for one write. */
export function encodePutBatch(events: readonly { headers: Record<string, string>; body: Uint8Array }[], putTime: number): Buffer {
  let size = FRAME_HEADER_SIZE + 4;
  const keyLens: number[] = [];
  for (const e of events) {
    size += FRAME_HEADER_SIZE + 10 + e.body.byteLength;
    for (const k in e.headers) {
      const kl = Buffer.byteLength(k);
      const vl = Buffer.byteLength(e.headers[k]);
      keyLens.push(kl, vl);
      size += 6 + kl + vl;
    }
  }
  const b = Buffer.allocUnsafe(size);
  let at = 0;
  let li = 0;
  for (const e of events) {
    const start = at;
    let p = at + FRAME_HEADER_SIZE;
    b.writeDoubleLE(putTime, p);
    p += 8;
    const countAt = p;
    p += 2;
    let n = 0;
    for (const k in e.headers) {
      const kl = keyLens[li++];
      const vl = keyLens[li++];
      if (kl > 0xffff) throw new RangeError(`header name longer than 65535 bytes`);
      b.writeUInt16LE(kl, p);
      p += 2;
      b.write(k, p, kl, 'utf8');
      p += kl;
      b.writeUInt32LE(vl, p);
      p += 4;
      b.write(e.headers[k], p, vl, 'utf8');
      p += vl;
      n++;
    }
    if (n > 0xffff) throw new RangeError('more than 65535 headers on one event');
    b.writeUInt16LE(n, countAt);
    b.set(e.body, p);
    p += e.body.byteLength;
    const length = p - start - FRAME_HEADER_SIZE;
    writeFrameHeader(b, start, FrameType.Event, length);
    sealFrame(b, start, length);
    at = p;
  }
  writeFrameHeader(b, at, FrameType.Commit, 4);
  b.writeUInt32LE(events.length, at + FRAME_HEADER_SIZE);
  sealFrame(b, at, 4);
  return b;
}

export interface DecodedEvent {
  headers: Record<string, string>;
  body: Uint8Array;
  putTime: number;
}

/** Decodes the Event frame payload at `b[at, at + length)`; the body is a copy (the read buffer is reused). */
export function decodeEvent(b: Buffer, at: number, length: number): DecodedEvent {
  const end = at + length;
  const putTime = b.readDoubleLE(at);
  const n = b.readUInt16LE(at + 8);
  let p = at + 10;
  const headers: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const kl = b.readUInt16LE(p);
    p += 2;
    const k = b.toString('utf8', p, p + kl);
    p += kl;
    const vl = b.readUInt32LE(p);
    p += 4;
    headers[k] = b.toString('utf8', p, p + vl);
    p += vl;
  }
  if (p > end) throw new RangeError('event headers overrun their frame');
  const body = new Uint8Array(end - p);
  body.set(b.subarray(p, end));
  return { headers, body, putTime };
}

/** The put time of an Event frame's payload at `at`. */
export function eventPutTime(b: Uint8Array, at: number): number {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).readDoubleLE(at);
}

// ---- takes ----

/** A half-open span of log positions [start, end); Event frames inside it are the events it stands for. */
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
