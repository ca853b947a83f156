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
import { EscapeArena, SLACK } from './escape-arena.ts';

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
 * Reusable memory for ndjson/json: an escape arena. Encoding into memory
 * already touched is measurably faster than a fresh allocation per batch (no
 * page faults, warm cache). The chunks returned point into it: the caller
 * must not reuse the scratch until it is done with them.
 */
export interface Scratch {
  arena?: EscapeArena;
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
  let input = 0;
  for (let i = 0; i < events.length; i++) input += events[i].body.byteLength;
  const list = new ElementList(format, input, input + 96 * events.length + 64, events.length, scratch);
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
 * its JSON prefix; each run's bytes go to the escape arena in one copy.
 */
export function encodeRuns(runs: readonly EntryRun[], format: 'ndjson' | 'json', maxBytes: number, scratch?: Scratch): EncodedChunk[] {
  let input = 0;
  let count = 0;
  for (const r of runs) {
    input += r.to - r.from;
    count += r.count;
  }
  if (count === 0) return [];
  const list = new ElementList(format, input, input + 96 * count + 64, count, scratch);
  const at = newLayout();
  for (const r of runs) {
    startRun(r, at);
    // where r.buf[0] would lie in the arena: the run's bytes are copied there from r.from
    const base = list.w.input(r.buf, r.from, r.to) - r.from;
    for (let p = r.from; p < r.to; p = at.end) {
      layoutEntry(r.buf, p, at);
      list.w.entry(r.buf, at, base);
      list.end();
    }
  }
  return list.finish(maxBytes);
}

/**
 * The elements of one ndjson body or JSON array, written into a JsonWriter
 * (in the scratch's arena when there is one), each followed by its separator
 * (`\n`, or `,` for json). Each element's end offset is kept, so cutting at the
 * byte cap is slicing.
 */
class ElementList {
  readonly w: JsonWriter;
  private readonly arena: EscapeArena;
  private readonly ndjson: boolean;
  private readonly start: number;
  private readonly ends: number[];
  private n = 0;

  constructor(format: 'ndjson' | 'json', inputBytes: number, estimate: number, count: number, private readonly scratch?: Scratch) {
    this.ndjson = format === 'ndjson';
    this.arena = scratch?.arena ?? new EscapeArena();
    this.w = new JsonWriter(this.arena, inputBytes, estimate, this.ndjson ? 0x0a : 0x2c); // \n or ,
    if (!this.ndjson) this.w.byte(0x5b); // [
    this.start = this.w.length;
    this.ends = new Array<number>(count);
  }

  /** The element just written (with its separator) ends here. */
  end(): void {
    this.ends[this.n++] = this.w.length;
  }

  /** The requests, each at most `maxBytes` (an element larger than that goes alone). */
  finish(maxBytes: number): EncodedChunk[] {
    const { w, ends, n, ndjson } = this;
    const buf = w.bytes();
    // the chunks are views of the arena: it is reused only once the caller is done with them
    if (this.scratch) this.scratch.arena = this.arena.oversized ? undefined : this.arena;
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

/**
 * An element's `{"headers":{…},"body":"`, and where this writer last wrote it
 * whole (-1: not yet): the arena copies it from there for the next element
 * with the same headers.
 */
interface Prefix {
  bytes: Buffer;
  at: number;
}

/**
 * JSON output in an escape arena: the bodies are copied into its input first,
 * then each element is its prefix, its body escaped, `"}` and the separator,
 * written by one call into the arena. Offsets (`length`) count from the start
 * of the output.
 */
class JsonWriter {
  /** The arena's memory and its size: re-read after every `ensure`, which may replace it. */
  private buf: Buffer;
  private cap: number;
  /** Where the output starts, and ends so far. */
  private readonly out0: number;
  private n: number;
  /** Where the next input goes; the input ends before `out0`. */
  private in: number;
  /** The last headers written (a copy) and their prefix: consecutive events usually share headers. */
  private last?: { headers: Record<string, string>; count: number; prefix: Prefix };
  /** The last header block seen by `entry`, and its prefix. */
  private block?: { buf: Buffer; at: number; len: number; prefix: Prefix };

  constructor(private readonly arena: EscapeArena, inputBytes: number, estimate: number, private readonly sep: number) {
    this.in = EscapeArena.inputAt;
    this.out0 = this.n = EscapeArena.outputAt(inputBytes);
    arena.ensure(this.out0 + estimate);
    this.buf = arena.buf;
    this.cap = this.buf.byteLength;
  }

  get length(): number {
    return this.n - this.out0;
  }

  /** The output so far (a view of the arena). */
  bytes(): Buffer {
    return this.buf.subarray(this.out0, this.n);
  }

  /** Copies `src[s, e)` into the input; returns where it now starts. */
  input(src: Uint8Array, s: number, e: number): number {
    const at = this.in;
    if (at + (e - s) > this.out0 - SLACK) throw new RangeError('more input than the arena was laid out for');
    this.buf.set(s === 0 && e === src.byteLength ? src : src.subarray(s, e), at);
    this.in = at + (e - s);
    return at;
  }

  private room(extra: number): void {
    if (this.n + extra <= this.cap) return;
    this.arena.ensure(this.n + extra);
    this.buf = this.arena.buf;
    this.cap = this.buf.byteLength;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.n++] = b;
  }

  event(e: FlumeEvent): void {
    const body = e.body;
    const len = body.byteLength;
    // a body that turns out not to be UTF-8 is written with its own headers and leaves the run of shared prefixes as it was
    const last = this.last;
    if (!this.element(this.prefix(e.headers), this.input(body, 0, len), len, body, 0, len)) {
      this.last = last;
      const b64 = (Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)).toString('base64');
      this.base64(e.headers, b64);
    }
  }

  /**
   * One entry of a file channel record (see `encodeRuns`), whose bytes are in
   * the input from `base + at.bodyAt`: the bytes `event` writes for the event
   * it decodes to, made the same way from the record.
   */
  entry(b: Buffer, at: EntryLayout, base: number): void {
    if (!this.element(this.blockPrefix(b, at), base + at.bodyAt, at.end - at.bodyAt, b, at.bodyAt, at.end)) {
      this.base64(decodeHeaderBlock(b, at.headersAt, at.headerCount), b.toString('base64', at.bodyAt, at.end));
    }
  }

  /** The element of a body that is not UTF-8. */
  private base64(headers: Record<string, string>, b64: string): void {
    const s = `{"headers":${headersJson(headers)},"body_base64":"${b64}"}`;
    this.room(s.length * 3 + 1);
    this.n += this.buf.write(s, this.n, 'utf8');
    this.buf[this.n++] = this.sep;
  }

  /**
   * `prefix`, the `len` input bytes at `from` escaped, `"}` and the
   * separator. When the body (`src[s, e)`, the same bytes where they came
   * from) is not UTF-8, returns false having written nothing the caller keeps.
   */
  private element(prefix: Prefix, from: number, len: number, src: Uint8Array, s: number, e: number): boolean {
    const plen = prefix.bytes.byteLength;
    // the worst case is every byte a 6-byte \u00XX escape, and the arena writes up to SLACK past the end
    this.room(plen + len * 6 + SLACK + 3);
    const o = this.n;
    if (prefix.at < 0) {
      this.buf.set(prefix.bytes, o);
      prefix.at = o;
    }
    const r = this.arena.element(from, len, o, prefix.at, plen, this.sep);
    // bit 31: a byte of 0x80 or more, so the body is UTF-8 only if it says so
    if (r < 0 && !isUtf8(s === 0 && e === src.byteLength ? src : src.subarray(s, e))) {
      // what was written at o is written over next
      if (prefix.at === o) prefix.at = -1;
      return false;
    }
    this.n = r & 0x7fffffff;
    return true;
  }

  /** The prefix for an entry's header block, reused while the blocks are equal byte for byte. */
  private blockPrefix(b: Buffer, at: EntryLayout): Prefix {
    const len = at.headersLen;
    const last = this.block;
    if (last && last.len === len) {
      // the same block (SAME_AS_FIRST entries point at their first entry's)
      if (last.buf === b && last.at === at.headersAt) return last.prefix;
      // or an equal one (the next record's): remembered as the block, so the rest of its entries need no comparing
      // (Deno's throughput profile: 60 ms per million lines comparing every entry's block again)
      if (sameRange(last.buf, last.at, b, at.headersAt, len)) {
        last.buf = b;
        last.at = at.headersAt;
        return last.prefix;
      }
    }
    // (every header takes at least 6 bytes, so equal blocks hold equally many headers)
    const bytes = Buffer.from(`{"headers":${headersJson(decodeHeaderBlock(b, at.headersAt, at.headerCount))},"body":"`, 'utf8');
    const prefix = { bytes, at: -1 };
    this.block = { buf: b, at: at.headersAt, len, prefix };
    return prefix;
  }

  /** The prefix for an event's headers, reused while consecutive events share their headers. */
  private prefix(h: Record<string, string>): Prefix {
    const last = this.last;
    // compared with a copy: an object may have been changed since it was cached
    if (last && sameHeaders(h, last.headers, last.count)) return last.prefix;
    const headers = { ...h };
    const prefix = { bytes: Buffer.from(`{"headers":${headersJson(h)},"body":"`, 'utf8'), at: -1 };
    this.last = { headers, count: headerCount(headers), prefix };
    return prefix;
  }
}

/** True when `a[ai, ai + n)` equals `b[bi, bi + n)`. */
function sameRange(a: Uint8Array, ai: number, b: Uint8Array, bi: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (a[ai + k] !== b[bi + k]) return false;
  return true;
}
