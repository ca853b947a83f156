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
import { headerCount, sameHeaders, type FlumeEvent } from '../../core/event.ts';
import { decodeHeaderBlock, layoutEntry, newLayout, startRun, type EntryLayout, type EntryRun } from '../../channels/file/framing.ts';

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
  /** The body is gzipped already (the encoder thread compresses as it encodes). */
  compressed?: boolean;
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
 * nothing else in JSON), so the hot path never decodes a body to a string
 * (elements and the cut at the byte cap: ElementList).
 */
function encodeJsonish(events: readonly FlumeEvent[], format: 'ndjson' | 'json', maxBytes: number, scratch?: Scratch): EncodedChunk[] {
  let estimate = 64;
  for (let i = 0; i < events.length; i++) estimate += events[i].body.byteLength + 96;
  const list = new ElementList(format, estimate, events.length, scratch);
  for (let i = 0; i < events.length; i++) {
    list.w.event(events[i]);
    list.end();
  }
  return list.finish(maxBytes);
}

/**
 * ndjson or json straight from the file channel's entries (see Taken.raw):
 * the same bytes `encodeBatch` makes of the decoded events, without making
 * them. A header block equal to the previous entry's, byte for byte, reuses
 * its JSON prefix; a body is copied from the record with one native call.
 */
export function encodeRuns(runs: readonly EntryRun[], format: 'ndjson' | 'json', maxBytes: number, scratch?: Scratch): EncodedChunk[] {
  let estimate = 64;
  let count = 0;
  for (const r of runs) {
    estimate += r.to - r.from + 96 * r.count;
    count += r.count;
  }
  if (count === 0) return [];
  const list = new ElementList(format, estimate, count, scratch);
  const at = newLayout();
  for (const r of runs) {
    startRun(r, at);
    for (let p = r.from; p < r.to; p = at.end) {
      layoutEntry(r.buf, p, at);
      list.w.entry(r.buf, at);
      list.end();
    }
  }
  return list.finish(maxBytes);
}

/**
 * The elements of one ndjson body or JSON array, written into a JsonWriter
 * (the scratch's buffer when it is big enough). Each element is followed by
 * its separator (`\n`, or `,` for json) and its end offset is kept, so cutting
 * at the byte cap is slicing.
 */
class ElementList {
  readonly w: JsonWriter;
  private readonly ndjson: boolean;
  private readonly start: number;
  private readonly ends: number[];
  private n = 0;

  constructor(format: 'ndjson' | 'json', estimate: number, count: number, private readonly scratch?: Scratch) {
    this.ndjson = format === 'ndjson';
    this.w = new JsonWriter(scratch?.buf && scratch.buf.byteLength >= estimate ? scratch.buf : Buffer.allocUnsafe(estimate));
    if (!this.ndjson) this.w.byte(0x5b); // [
    this.start = this.w.length;
    this.ends = new Array<number>(count);
  }

  /** Closes the element just written. */
  end(): void {
    this.w.byte(this.ndjson ? 0x0a : 0x2c); // \n or ,
    this.ends[this.n++] = this.w.length;
  }

  /** The requests, each at most `maxBytes` (an element larger than that goes alone). */
  finish(maxBytes: number): EncodedChunk[] {
    const { w, ends, n, ndjson } = this;
    const buf = w.bytes();
    if (this.scratch) this.scratch.buf = w.backing;
    // json: the trailing "," becomes "]", so the length is the request's
    if (buf.byteLength <= maxBytes) {
      if (!ndjson) buf[buf.byteLength - 1] = 0x5d; // ]
      return [{ body: buf, first: 0, count: n }];
    }
    const out: EncodedChunk[] = [];
    const frame = ndjson ? 0 : 1; // json: "[" + elements + "]" where the last "," is replaced
    let first = 0;
    let from = this.start;
    for (let i = 0; i < n; i++) {
      const size = ends[i] - from + frame;
      if (i > first && size > maxBytes) {
        out.push(slice(buf, from, ends[i - 1], first, i - first, ndjson));
        first = i;
        from = ends[i - 1];
      }
    }
    out.push(slice(buf, from, ends[n - 1], first, n - first, ndjson));
    return out;
  }
}

function slice(buf: Buffer, from: number, to: number, first: number, count: number, ndjson: boolean): EncodedChunk {
  const body = ndjson ? buf.subarray(from, to) : Buffer.concat([OPEN, buf.subarray(from, to - 1), CLOSE]);
  return { body, first, count };
}

const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');
/** The JSON escape of each control byte, as JSON.stringify writes it (`\n`, `\u0001`, …). */
const ESCAPE: readonly Uint8Array[] = Array.from({ length: 0x20 }, (_, c) => Buffer.from(JSON.stringify(String.fromCharCode(c)).slice(1, -1), 'latin1'));
/** Whole words are staged and copied through a DataView in this machine's byte order, so the bytes land as they were. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Non-zero when a byte of the 32-bit word `x` must be escaped in a JSON
 * string (`"`, `\\`, below 0x20). Each byte is cut to 7 bits first, so the
 * additions never carry into the next byte: a byte's top bit stays clear
 * after `+ 0x60` only when it was below 0x20, and after `+ 0x7f` only when
 * it was zero, which the xors make of `"` and `\\`. `& ~x` drops bytes ≥ 0x80,
 * whose low 7 bits could look like one of these.
 */
function escapeMask(x: number): number {
  const m = x & 0x7f7f7f7f;
  const q = m ^ 0x22222222;
  const b = m ^ 0x5c5c5c5c;
  return ~((m + 0x60606060) & (q + 0x7f7f7f7f) & (b + 0x7f7f7f7f)) & ~x & 0x80808080;
}

/**
 * Copies `src[s, e)` to `dst` at `at`: an entry's body out of its record.
 * Bun's `Buffer#copy` is native and the fastest way there. Node's checks its
 * arguments in JS and makes the same view this makes, and Deno's (a JS
 * polyfill) was the encoder thread's bottleneck: a 1 GB replay, drained at
 * 0.91–2.47 s per 617 k lines with it, took 0.84–1.03 s with a view and a native
 * `set` (Node: ~4 % less time per entry; Bun: 19 % more, so it keeps `copy`).
 */
const copyBody: (src: Buffer, s: number, e: number, dst: Buffer, at: number) => void = 'Bun' in globalThis
  ? (src, s, e, dst, at) => void src.copy(dst, at, s, e)
  : (src, s, e, dst, at) => dst.set(new Uint8Array(src.buffer, src.byteOffset + s, e - s), at);

function mustEscape(c: number): boolean {
  return c < 0x20 || c === 0x22 || c === 0x5c;
}

/** A growable byte buffer for JSON output. */
class JsonWriter {
  private buf: Buffer;
  private n = 0;
  /**
   * `buf` read four bytes at a time: the words of its whole ArrayBuffer, so
   * byte `i` of `buf` is in word `(base + i) >> 2` whatever `buf`'s offset.
   */
  private words!: Int32Array;
  private base = 0;
  private view?: DataView;
  /** The bytes scanned by the last `firstEscape`/`escapeFrom`, or-ed: bit 7 set in a lane means non-ASCII was seen. */
  private high = 0;
  /** The last headers written (a copy) and their prefix bytes: consecutive events usually share headers. */
  private last?: { headers: Record<string, string>; count: number; prefix: Buffer };

  constructor(buf: Buffer) {
    this.buf = buf;
    this.wordsOf(buf);
  }

  private wordsOf(buf: Buffer): void {
    this.words = new Int32Array(buf.buffer, 0, buf.buffer.byteLength >> 2);
    this.base = buf.byteOffset;
    this.view = undefined;
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
    this.wordsOf(next);
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.n++] = b;
  }

  text(s: string): void {
    this.room(s.length * 3);
    this.n += this.buf.write(s, this.n, 'utf8');
  }

  /**
   * The body is copied with one native `set` and then checked in place, four
   * bytes per step, for bytes JSON must escape; most log lines have none, and
   * then the copy is the output. The same pass tells whether every byte was
   * ASCII, which is valid UTF-8 without asking `isUtf8`. The byte loop that
   * copied as it scanned, before, took 2.4 times as long on plain log lines
   * and 1.6 times on lines with quotes (scripts/bench-encode.ts).
   */
  event(e: FlumeEvent): void {
    const body = e.body;
    const len = body.byteLength;
    const start = this.n;
    // a body that turns out not to be UTF-8 is written with its own headers and leaves the run of shared prefixes as it was
    const last = this.last;
    const from = this.open(this.prefix(e.headers), len);
    this.buf.set(body, from);
    if (!this.close(start, from, len, body, 0, len)) {
      this.last = last;
      const b64 = (Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)).toString('base64');
      this.text(`{"headers":${headersJson(e.headers)},"body_base64":"${b64}"}`);
    }
  }

  /**
   * One entry of a file channel record (see `encodeRuns`): the bytes `event`
   * writes for the event it decodes to, made the same way from the record.
   */
  entry(b: Buffer, at: EntryLayout): void {
    const len = at.end - at.bodyAt;
    const start = this.n;
    const from = this.open(this.blockPrefix(b, at), len);
    copyBody(b, at.bodyAt, at.end, this.buf, from);
    if (!this.close(start, from, len, b, at.bodyAt, at.end)) {
      const headers = decodeHeaderBlock(b, at.headersAt, at.headerCount);
      this.text(`{"headers":${headersJson(headers)},"body_base64":"${b.toString('base64', at.bodyAt, at.end)}"}`);
    }
  }

  /** Writes `prefix` and makes room for a body of `len` bytes after it; returns where the body goes. */
  private open(prefix: Buffer, len: number): number {
    // the worst case is every byte a 6-byte \u00XX escape; escapeFrom's staging copy fits in that, plus its alignment
    this.room(prefix.byteLength + len * 6 + 6);
    this.buf.set(prefix, this.n);
    return this.n + prefix.byteLength;
  }

  /**
   * The body was just copied to `[from, from + len)`: escapes it where it
   * lies and closes the element. When the body (`src[s, e)`) is not UTF-8,
   * writes nothing (the element is cut back to `start`) and returns false.
   */
  private close(start: number, from: number, len: number, src: Uint8Array, s: number, e: number): boolean {
    let end = from + len;
    const i = this.firstEscape(from, end);
    let high = this.high;
    if (i < end) {
      end = this.escapeFrom(i, end);
      high |= this.high;
    }
    if ((high & 0x80808080) !== 0 && !isUtf8(s === 0 && e === src.byteLength ? src : src.subarray(s, e))) {
      this.n = start;
      return false;
    }
    this.buf[end++] = 0x22; // "
    this.buf[end++] = 0x7d; // }
    this.n = end;
    return true;
  }

  /** The last header block seen by `entry`, and its prefix bytes. */
  private block?: { buf: Buffer; at: number; len: number; prefix: Buffer };

  /** `{"headers":{…},"body":"` for an entry's header block, reused while the blocks are equal byte for byte. */
  private blockPrefix(b: Buffer, at: EntryLayout): Buffer {
    const len = at.headersLen;
    const last = this.block;
    // the same block (SAME_AS_FIRST entries point at their first entry's), or an equal one
    if (last && last.len === len && ((last.buf === b && last.at === at.headersAt) || sameRange(last.buf, last.at, b, at.headersAt, len))) return last.prefix;
    // (every header takes at least 6 bytes, so equal blocks hold equally many headers)
    const prefix = Buffer.from(`{"headers":${headersJson(decodeHeaderBlock(b, at.headersAt, at.headerCount))},"body":"`, 'utf8');
    this.block = { buf: b, at: at.headersAt, len, prefix };
    return prefix;
  }

  /** `{"headers":{…},"body":"` as bytes, reused while consecutive events share their headers. */
  private prefix(h: Record<string, string>): Buffer {
    const last = this.last;
    // compared with a copy: an object may have been changed since it was cached
    if (last && sameHeaders(h, last.headers, last.count)) return last.prefix;
    const headers = { ...h };
    const prefix = Buffer.from(`{"headers":${headersJson(h)},"body":"`, 'utf8');
    this.last = { headers, count: headerCount(headers), prefix };
    return prefix;
  }

  /** The index in `buf` of the first byte in [from, end) to escape, or `end`. */
  private firstEscape(from: number, end: number): number {
    const out = this.buf;
    const base = this.base;
    let high = 0;
    let i = from;
    const aligned = Math.min(end, from + ((4 - ((base + from) & 3)) & 3));
    for (; i < aligned; i++) {
      const c = out[i];
      high |= c;
      if (mustEscape(c)) break;
    }
    // a body shorter than its way to a word boundary is done here; so is one whose head needs escaping
    if (i < aligned || i === end) {
      this.high = high;
      return i;
    }
    const words = this.words;
    let k = (base + i) >> 2;
    const lastWord = (base + end) >> 2;
    for (; k < lastWord; k++) {
      const x = words[k];
      high |= x;
      if (escapeMask(x) !== 0) break;
    }
    for (i = (k << 2) - base; i < end; i++) {
      const c = out[i];
      high |= c;
      if (mustEscape(c)) break;
    }
    this.high = high;
    return i;
  }

  /**
   * Escapes the unescaped bytes in [at, end) where they lie, returning the new
   * end. They are first moved ahead (at least five times their length, where
   * the output, at most six bytes per byte read, cannot overtake them), to a
   * word boundary, so clean words still go four bytes at a time.
   */
  private escapeFrom(at: number, end: number): number {
    const out = this.buf;
    const base = this.base;
    const rest = end - at;
    let s = at + 5 * rest + 4;
    s -= (base + s) & 3;
    out.copyWithin(s, at, end);
    const stop = s + rest;
    const view = (this.view ??= new DataView(out.buffer, out.byteOffset, out.byteLength));
    const words = this.words;
    let o = at;
    let high = 0;
    while (s < stop) {
      if (s + 4 <= stop) {
        const x = words[(base + s) >> 2];
        high |= x;
        if (escapeMask(x) === 0) {
          view.setInt32(o, x, LITTLE_ENDIAN);
          s += 4;
          o += 4;
          continue;
        }
      }
      for (const next = Math.min(s + 4, stop); s < next; s++) {
        const c = out[s];
        high |= c;
        if (!mustEscape(c)) {
          out[o++] = c;
        } else if (c >= 0x20) {
          out[o++] = 0x5c; // \
          out[o++] = c;
        } else {
          const esc = ESCAPE[c];
          for (let j = 0; j < esc.length; j++) out[o++] = esc[j];
        }
      }
    }
    this.high = high;
    return o;
  }
}

/** True when `a[ai, ai + n)` equals `b[bi, bi + n)`. */
function sameRange(a: Uint8Array, ai: number, b: Uint8Array, bi: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (a[ai + k] !== b[bi + k]) return false;
  return true;
}
