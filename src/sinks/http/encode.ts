/**
 * Request bodies for a batch of events, split so no request exceeds the byte
 * cap (a single event larger than the cap still goes, alone).
 *
 * - `text`: the raw bodies joined by `\n` (no trailing newline). With one
 *   event per batch this is byte for byte Flume's request: the body only.
 * - `ndjson`: one JSON object per line, each line ending in `\n`:
 *   `{"headers":{…},"body":"…"}`.
 * - `json`: the same objects in one array: `[{…},{…}]`.
 *
 * In ndjson and json a body that is valid UTF-8 is written as the string
 * `"body"`; one that is not (binary, a truncated multi-byte character) is
 * written as `"body_base64"` with the bytes in standard base64 — never a
 * lossy conversion, and the marker tells the receiver which it got.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import type { FlumeEvent } from '../../core/event.ts';

export type BodyFormat = 'text' | 'ndjson' | 'json';

export const FORMATS: readonly BodyFormat[] = ['text', 'ndjson', 'json'];

export const DEFAULT_CONTENT_TYPE: Record<BodyFormat, string> = {
  text: 'text/plain',
  ndjson: 'application/x-ndjson',
  json: 'application/json',
};

/** One request body and how many events (from `first`, in batch order) it carries. */
export interface EncodedChunk {
  body: Buffer;
  first: number;
  count: number;
}

/** Characters JSON must escape, plus surrogates (JSON.stringify escapes lone ones; pairs are checked there too). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * A JSON string literal. Most log text needs no escaping, and `"` + s + `"`
 * is several times cheaper than JSON.stringify on Node 20 — this is the
 * hottest line of the sink.
 */
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

function headersJson(h: Record<string, string>): string {
  let out = '{';
  for (const k in h) out += (out.length > 1 ? ',' : '') + jsonString(k) + ':' + jsonString(h[k]);
  return out + '}';
}

/**
 * A reusable output buffer for ndjson/json. Encoding into memory already
 * touched is measurably faster than a fresh allocation per batch (no page
 * faults, warm cache). The chunks returned point into it: the caller must
 * not reuse the scratch until it is done with them.
 */
export interface Scratch {
  buf?: Buffer;
}

export function encodeBatch(events: readonly FlumeEvent[], format: BodyFormat, maxBytes: number, scratch?: Scratch): EncodedChunk[] {
  if (events.length === 0) return [];
  return format === 'text' ? encodeText(events, maxBytes) : encodeJsonish(events, format, maxBytes, scratch);
}

function encodeText(events: readonly FlumeEvent[], maxBytes: number): EncodedChunk[] {
  const out: EncodedChunk[] = [];
  const NL = Buffer.from('\n');
  let parts: Uint8Array[] = [];
  let bytes = 0;
  let first = 0;
  for (let i = 0; i < events.length; i++) {
    const b = events[i].body;
    const add = (parts.length > 0 ? 1 : 0) + b.byteLength;
    if (parts.length > 0 && bytes + add > maxBytes) {
      out.push({ body: Buffer.concat(parts, bytes), first, count: i - first });
      parts = [];
      bytes = 0;
      first = i;
    }
    if (parts.length > 0) {
      parts.push(NL);
      bytes++;
    }
    parts.push(b);
    bytes += b.byteLength;
  }
  out.push({ body: Buffer.concat(parts, bytes), first, count: events.length - first });
  return out;
}

/**
 * ndjson and json are written straight into one byte buffer: a UTF-8 body is
 * copied as bytes, escaping only `"`, `\\` and control bytes (valid UTF-8 needs
 * nothing else in JSON), so the hot path never decodes a body to a string.
 * Each element is followed by a separator (`\n`, or `,` for json) and its end
 * offset is kept, so splitting at the byte cap is slicing.
 */
function encodeJsonish(events: readonly FlumeEvent[], format: 'ndjson' | 'json', maxBytes: number, scratch?: Scratch): EncodedChunk[] {
  const ndjson = format === 'ndjson';
  let estimate = 64;
  for (let i = 0; i < events.length; i++) estimate += events[i].body.byteLength + 96;
  const w = new JsonWriter(scratch?.buf && scratch.buf.byteLength >= estimate ? scratch.buf : Buffer.allocUnsafe(estimate));
  if (!ndjson) w.byte(0x5b); // [
  const start = w.length;
  const ends = new Array<number>(events.length);
  for (let i = 0; i < events.length; i++) {
    w.event(events[i]);
    w.byte(ndjson ? 0x0a : 0x2c); // \n or ,
    ends[i] = w.length;
  }
  const buf = w.bytes();
  if (scratch) scratch.buf = w.backing;
  // json: the trailing "," becomes "]", so the length is the request's
  if (buf.byteLength <= maxBytes) {
    if (!ndjson) buf[buf.byteLength - 1] = 0x5d; // ]
    return [{ body: buf, first: 0, count: events.length }];
  }
  const out: EncodedChunk[] = [];
  const frame = ndjson ? 0 : 1; // json: "[" + elements + "]" where the last "," is replaced
  let first = 0;
  let from = start;
  for (let i = 0; i < events.length; i++) {
    const size = ends[i] - from + frame;
    if (i > first && size > maxBytes) {
      out.push(slice(buf, from, ends[i - 1], first, i - first, ndjson));
      first = i;
      from = ends[i - 1];
    }
  }
  out.push(slice(buf, from, ends[events.length - 1], first, events.length - first, ndjson));
  return out;
}

function slice(buf: Buffer, from: number, to: number, first: number, count: number, ndjson: boolean): EncodedChunk {
  const body = ndjson ? buf.subarray(from, to) : Buffer.concat([OPEN, buf.subarray(from, to - 1), CLOSE]);
  return { body, first, count };
}

const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');
const ESCAPE: readonly string[] = Array.from({ length: 0x20 }, (_, c) => JSON.stringify(String.fromCharCode(c)).slice(1, -1));

/** A growable byte buffer for JSON output. */
class JsonWriter {
  private buf: Buffer;
  private n = 0;
  /** The last headers written (a copy) and their prefix bytes: consecutive events usually share headers. */
  private lastHeaders?: Record<string, string>;
  private lastPrefix = Buffer.alloc(0);

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  /** The whole buffer written into (it may have grown), for reuse. */
  get backing(): Buffer {
    return this.buf;
  }

  get length(): number {
    return this.n;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.n);
  }

  private room(extra: number): void {
    if (this.n + extra <= this.buf.byteLength) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.byteLength * 2, this.n + extra));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.n++] = b;
  }

  text(s: string): void {
    this.room(s.length * 3);
    this.n += this.buf.write(s, this.n, 'utf8');
  }

  event(e: FlumeEvent): void {
    const body = e.body;
    if (isUtf8(body)) {
      this.raw(this.prefix(e.headers));
      this.escaped(body);
      this.room(2);
      this.buf[this.n++] = 0x22; // "
      this.buf[this.n++] = 0x7d; // }
    } else {
      const b64 = (Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)).toString('base64');
      this.text(`{"headers":${headersJson(e.headers)},"body_base64":"${b64}"}`);
    }
  }

  private raw(b: Buffer): void {
    this.room(b.byteLength);
    this.buf.set(b, this.n);
    this.n += b.byteLength;
  }

  /** `{"headers":{…},"body":"` as bytes, reused while consecutive events share their headers. */
  private prefix(h: Record<string, string>): Buffer {
    const last = this.lastHeaders;
    if (last !== undefined && sameHeaders(last, h)) return this.lastPrefix;
    this.lastHeaders = { ...h };
    this.lastPrefix = Buffer.from(`{"headers":${headersJson(h)},"body":"`, 'utf8');
    return this.lastPrefix;
  }

  /**
   * Copies valid UTF-8 bytes, escaping `"`, `\\` and bytes below 0x20. A byte
   * loop that copies as it scans measured faster than copying runs with
   * `set(subarray)` (no view objects per escape).
   */
  private escaped(src: Uint8Array): void {
    this.room(src.byteLength * 6);
    const out = this.buf;
    let o = this.n;
    const len = src.length;
    for (let i = 0; i < len; i++) {
      const c = src[i];
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
        out[o++] = c;
      } else if (c === 0x22 || c === 0x5c) {
        out[o++] = 0x5c;
        out[o++] = c;
      } else {
        o += out.write(ESCAPE[c], o, 'latin1');
      }
    }
    this.n = o;
  }
}

function sameHeaders(a: Record<string, string>, b: Record<string, string>): boolean {
  // compared by value: an object may have been mutated since it was cached
  let n = 0;
  for (const k in b) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in a) n--;
  return n === 0;
}
