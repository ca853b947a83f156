import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { encodeBatch, encodeRuns, type BodyFormat, type EncodedChunk, type Scratch } from '../src/sinks/http/encode.ts';
import { decodeRuns, encodePutBatch, PUT_FIRST_ENTRY, spanEntries, type EntryRun, type EventLike } from '../src/channels/file/framing.ts';
import type { FlumeEvent } from '../src/core/event.ts';

/*
 * encodeBatch against an encoder written the obvious way (JSON.stringify per
 * event, greedy split at the cap): the output must be the same bytes for any
 * input, not just parse to the same values.
 */

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The current encoder writes an event's headers as the previous event's when
 * they are equal by value (whatever their key order): a run of events with
 * the same headers shares one prefix. Bodies written as base64 carry their
 * own headers and leave the run alone.
 */
function referenceElements(events: readonly FlumeEvent[]): Buffer[] {
  let last: Record<string, string> | undefined;
  let lastJson = '';
  const same = (a: Record<string, string>, b: Record<string, string>): boolean =>
    Object.keys(a).length === Object.keys(b).length && Object.keys(b).every((k) => Object.hasOwn(a, k) && a[k] === b[k]);
  return events.map((e) => {
    let text: string | undefined;
    try {
      text = strictUtf8.decode(e.body);
    } catch {
      text = undefined;
    }
    if (text === undefined) return Buffer.from(`{"headers":${JSON.stringify(e.headers)},"body_base64":"${Buffer.from(e.body).toString('base64')}"}`, 'utf8');
    if (last === undefined || !same(last, e.headers)) {
      last = { ...e.headers };
      lastJson = JSON.stringify(e.headers);
    }
    return Buffer.from(`{"headers":${lastJson},"body":${JSON.stringify(text)}}`, 'utf8');
  });
}

function reference(events: readonly FlumeEvent[], format: BodyFormat, maxBytes: number): EncodedChunk[] {
  if (events.length === 0) return [];
  const parts = format === 'text' ? events.map((e) => Buffer.from(e.body)) : referenceElements(events);
  // bytes a request of `count` elements totalling `sum` takes
  const size = (sum: number, count: number): number => (format === 'ndjson' ? sum + count : format === 'json' ? sum + count + 1 : sum + count - 1);
  const build = (first: number, count: number): Buffer => {
    const group = parts.slice(first, first + count);
    if (format === 'ndjson') return Buffer.concat(group.flatMap((p) => [p, Buffer.from('\n')]));
    const sep = Buffer.from(format === 'json' ? ',' : '\n');
    const joined = Buffer.concat(group.flatMap((p, k) => (k ? [sep, p] : [p])));
    return format === 'json' ? Buffer.concat([Buffer.from('['), joined, Buffer.from(']')]) : joined;
  };
  const out: EncodedChunk[] = [];
  let first = 0;
  let sum = 0;
  for (let i = 0; i < events.length; i++) {
    if (i > first && size(sum + parts[i].byteLength, i - first + 1) > maxBytes) {
      out.push({ body: build(first, i - first), first, count: i - first });
      first = i;
      sum = 0;
    }
    sum += parts[i].byteLength;
  }
  out.push({ body: build(first, events.length - first), first, count: events.length - first });
  return out;
}

function assertSame(events: readonly FlumeEvent[], format: BodyFormat, maxBytes: number, scratch?: Scratch): void {
  const want = reference(events, format, maxBytes);
  const got = encodeBatch(events, format, maxBytes, scratch);
  assert.is(got.length, want.length, 'number of requests');
  for (let k = 0; k < want.length; k++) {
    assert.is(got[k].first, want[k].first);
    assert.is(got[k].count, want[k].count);
    if (!Buffer.from(got[k].body).equals(want[k].body)) {
      assert.fixture(Buffer.from(got[k].body).toString('latin1'), want[k].body.toString('latin1'), `request ${k} of ${format}`);
    }
  }
}

/** `bytes` as a Uint8Array view at `offset` into a larger buffer, the way sources hand bodies out. */
function viewAt(bytes: Uint8Array, offset: number): Uint8Array {
  const big = new Uint8Array(offset + bytes.byteLength + 5).fill(0x22);
  big.set(bytes, offset);
  return new Uint8Array(big.buffer, offset, bytes.byteLength);
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

test('every byte value, at every position of a body and every alignment, encodes as JSON.stringify would', () => {
  const events: FlumeEvent[] = [];
  for (let b = 0; b < 256; b++) {
    for (let pos = 0; pos < 11; pos++) {
      for (let offset = 0; offset < 4; offset++) {
        const body = utf8('abcdefghijk');
        body[pos] = b;
        events.push({ headers: { file: '/var/log/app.log' }, body: viewAt(body, offset) });
      }
    }
  }
  for (const format of ['ndjson', 'json'] as const) {
    assertSame(events, format, Infinity);
    assertSame(events, format, 4096);
  }
});

test('edge bodies: empty, only escapes, a BOM, surrogates encoded in UTF-8, overlong, truncated, long clean runs', () => {
  const bodies: Uint8Array[] = [
    new Uint8Array(0),
    utf8('"'),
    utf8('\\'),
    utf8('\n'),
    new Uint8Array(64).fill(0x01),
    new Uint8Array(64).fill(0x22),
    utf8('\ufeffstarts with a byte order mark'),
    Uint8Array.of(0xed, 0xa0, 0x80),
    Uint8Array.of(0xc0, 0x80),
    Uint8Array.of(0x61, 0x62, 0xe2, 0x82),
    Uint8Array.of(0xf4, 0x90, 0x80, 0x80),
    utf8('x'.repeat(5000)),
    utf8(`${'x'.repeat(4001)}"${'y'.repeat(999)}`),
    utf8('tab\there, é, 😀, 中文, \u007f, \u2028 and "quotes" \\ end'),
    utf8('2024-05-01T12:00:00.000Z INFO [worker-3] GET /api/v1/items/123 200 1234 t=1732550000123456 seq=000000123 xxxxxxxx'),
  ];
  const events = bodies.flatMap((b) => [0, 1, 2, 3].map((offset) => ({ headers: { file: '/var/log/app.log' }, body: viewAt(b, offset) })));
  for (const format of ['ndjson', 'json', 'text'] as const) {
    for (const cap of [1, 50, 300, 6000, Infinity]) assertSame(events, format, cap);
  }
});

test('headers: shared and copied objects, changes mid-batch, reordered keys, keys and values that need escaping', () => {
  const shared = { file: '/var/log/app.log' };
  const body = utf8('line');
  const events: FlumeEvent[] = [
    { headers: shared, body },
    { headers: shared, body },
    { headers: { ...shared }, body },
    { headers: {}, body },
    { headers: { file: '/var/log/other.log' }, body },
    { headers: { file: '/var/log/other.log', host: 'web-01' }, body },
    { headers: { host: 'web-01', file: '/var/log/other.log' }, body },
    { headers: { 'a"b': 'c\\d\n', 'é': '😀', '\ud800': 'lone surrogate' }, body },
    { headers: shared, body },
    { headers: { x: '1' }, body },
    { headers: { host: 'web-01', file: 'f' }, body: Uint8Array.of(0xff) },
    { headers: { file: 'f', host: 'web-01' }, body },
  ];
  for (const format of ['ndjson', 'json'] as const) assertSame(events, format, Infinity);
});

test('a reused scratch arena, growth past the estimate and an arena too big to keep give the same bytes', () => {
  const worst = new Uint8Array(3000).fill(0x01); // each byte becomes \u0001: six times the estimate's share
  const batches: FlumeEvent[][] = [
    [{ headers: {}, body: utf8('small') }],
    Array.from({ length: 20 }, (_, i) => ({ headers: { n: String(i) }, body: viewAt(worst, i & 3) })),
    Array.from({ length: 200 }, (_, i) => ({ headers: { file: 'f' }, body: utf8(`line ${i} "quoted" ${'x'.repeat(i)}`) })),
    [{ headers: {}, body: utf8('small again') }],
  ];
  for (const format of ['ndjson', 'json'] as const) {
    const scratch: Scratch = {};
    for (const batch of batches) assertSame(batch, format, Infinity, scratch);
    for (const batch of batches) assertSame(batch, format, 700, scratch);
    const arena = scratch.arena;
    assert.ok(arena, 'the scratch keeps its arena');
    assertSame(batches[2], format, Infinity, scratch);
    assert.is(scratch.arena, arena, 'and reuses it');
    // 3 MB of control bytes escape to 18 MB: the arena grows past what is kept for reuse, and is dropped
    const huge = [{ headers: {}, body: new Uint8Array(3 << 20).fill(0x1f) }];
    assertSame(huge, format, Infinity, scratch);
    assert.is(scratch.arena, undefined, 'an arena grown past 8 MB is not kept');
    for (const batch of batches) assertSame(batch, format, 700, scratch);
  }
});

const byteOf = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.constantFrom(0x22, 0x5c, 0x0a, 0x09, 0x00, 0x1f, 0x7f) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const body = fc.oneof(
  fc.string({ maxLength: 300 }).map(utf8),
  fc.string({ unit: 'grapheme', maxLength: 80 }).map(utf8),
  fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\u0001', '\u007f', 'é', '😀', '\ufeff', 'a', 'abcd'), maxLength: 60 }).map(utf8),
  fc.uint8Array({ maxLength: 200 }),
  fc.array(byteOf, { maxLength: 300 }).map((bs) => Uint8Array.from(bs)),
);
const headerString = fc.oneof(fc.constantFrom('/var/log/app.log', 'web-01', ''), fc.string({ unit: 'binary', maxLength: 8 }));
// a few objects equal by value in another key order, so runs of shared prefixes start, break and resume
const commonHeaders: Record<string, string>[] = [{ file: '/var/log/app.log' }, { file: 'f', host: 'h' }, { host: 'h', file: 'f' }, {}];
const headers = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...commonHeaders).map((h) => ({ ...h })) },
  { weight: 1, arbitrary: fc.dictionary(headerString, headerString, { maxKeys: 3 }) },
);
const event = fc.record({ body, offset: fc.integer({ min: 0, max: 7 }), headers, buffer: fc.boolean() });

test('random batches, formats and caps: the same bytes and splits as the reference encoder', () => {
  fc.assert(
    fc.property(
      fc.array(event, { minLength: 1, maxLength: 40 }),
      fc.constantFrom<BodyFormat>('ndjson', 'json', 'text'),
      fc.oneof(fc.integer({ min: 1, max: 2000 }), fc.constant(Infinity)),
      fc.boolean(),
      (raw, format, cap, reuse) => {
        const events = raw.map((r) => {
          const v = viewAt(r.body, r.offset);
          return { headers: r.headers, body: r.buffer ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v };
        });
        const scratch: Scratch | undefined = reuse ? {} : undefined;
        assertSame(events, format, cap, scratch);
        if (scratch) assertSame(events.slice().reverse(), format, cap, scratch);
      },
    ),
    { numRuns: 400 },
  );
});

// headers as a put stores them; no two equal by value in another key order (encodeBatch writes such a
// run in the first one's order, encodeRuns in each one's own: the same JSON, other bytes)
const storedHeaders = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Record<string, string>>({ file: '/var/log/app.log' }, { file: 'f', host: 'h' }, {}).map((h) => ({ ...h })) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('k', 'é', 'x"y'), headerString, { maxKeys: 2 }) },
);

test('from the file channel\'s records: the same bytes and splits as encoding the decoded events', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ body, headers: storedHeaders }), { minLength: 1, maxLength: 40 }),
      fc.array(fc.nat(40), { maxLength: 3 }),
      fc.nat(40),
      fc.nat(3),
      fc.constantFrom<'ndjson' | 'json'>('ndjson', 'json'),
      fc.oneof(fc.integer({ min: 1, max: 2000 }), fc.constant(Infinity)),
      fc.boolean(),
      (all: EventLike[], cuts, split, skip, format, cap, reuse) => {
        // the batch as two put records; of each, the entries after its first `skip` (as a take resumed in
        // the middle of a record after a restart) taken as runs that start and end at arbitrary entries
        const parts = [all.slice(0, split % all.length), all.slice(split % all.length)].filter((p) => p.length > 0);
        const runs: EntryRun[] = [];
        const events: EventLike[] = [];
        for (const part of parts) {
          const frame = encodePutBatch(part, 1);
          const dropped = skip % part.length;
          events.push(...part.slice(dropped));
          let p = spanEntries(frame, PUT_FIRST_ENTRY, frame.length, dropped).stop;
          for (const n of [...cuts.map((c) => c % 5), Infinity]) {
            if (p >= frame.length) break;
            const { stop, count } = spanEntries(frame, p, frame.length, Math.max(1, n));
            runs.push({ buf: frame, from: p, to: stop, count });
            p = stop;
          }
        }
        const decoded: EventLike[] = [];
        decodeRuns(runs, decoded);
        assert.equal(decoded.map((e) => ({ ...e.headers })), events.map((e) => ({ ...e.headers })), 'the headers put');
        assert.equal(decoded.map((e) => [...e.body]), events.map((e) => [...e.body]), 'the bodies put');
        const scratch: Scratch | undefined = reuse ? {} : undefined;
        const want = encodeBatch(decoded as FlumeEvent[], format, cap);
        for (let round = 0; round < (scratch ? 2 : 1); round++) {
          const got = encodeRuns(runs, format, cap, scratch);
          assert.equal(got.map((c) => [c.first, c.count]), want.map((c) => [c.first, c.count]), 'the same split');
          for (let i = 0; i < want.length; i++) assert.ok(Buffer.from(got[i].body).equals(Buffer.from(want[i].body)), `request ${i}: the same bytes`);
        }
      },
    ),
    { numRuns: 400 },
  );
});

test.run();
