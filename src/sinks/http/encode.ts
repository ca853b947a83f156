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

/** One event as a JSON object (the ndjson line / json array element, without separators). */
export function eventJson(e: FlumeEvent): string {
  const body = Buffer.isBuffer(e.body) ? e.body : Buffer.from(e.body.buffer, e.body.byteOffset, e.body.byteLength);
  const headers = JSON.stringify(e.headers);
  return isUtf8(body)
    ? `{"headers":${headers},"body":${JSON.stringify(body.toString('utf8'))}}`
    : `{"headers":${headers},"body_base64":"${body.toString('base64')}"}`;
}

export function encodeBatch(events: readonly FlumeEvent[], format: BodyFormat, maxBytes: number): EncodedChunk[] {
  if (events.length === 0) return [];
  return format === 'text' ? encodeText(events, maxBytes) : encodeJsonish(events, format, maxBytes);
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

function encodeJsonish(events: readonly FlumeEvent[], format: 'ndjson' | 'json', maxBytes: number): EncodedChunk[] {
  const out: EncodedChunk[] = [];
  const ndjson = format === 'ndjson';
  // framing bytes: ndjson adds "\n" per line; json adds "[" "]" and "," between
  const open = ndjson ? '' : '[';
  const close = ndjson ? '' : ']';
  let lines: string[] = [];
  let bytes = open.length + close.length;
  let first = 0;
  const flush = (end: number): void => {
    const text = ndjson ? lines.join('\n') + '\n' : `[${lines.join(',')}]`;
    out.push({ body: Buffer.from(text, 'utf8'), first, count: end - first });
  };
  for (let i = 0; i < events.length; i++) {
    const line = eventJson(events[i]);
    const add = Buffer.byteLength(line, 'utf8') + (ndjson ? 1 : lines.length > 0 ? 1 : 0);
    if (lines.length > 0 && bytes + add > maxBytes) {
      flush(i);
      lines = [];
      bytes = open.length + close.length + (ndjson ? add : add - 1);
      first = i;
    } else {
      bytes += add;
    }
    lines.push(line);
  }
  flush(events.length);
  return out;
}
