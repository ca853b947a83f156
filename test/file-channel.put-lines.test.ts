import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { encodePutBatch, decodeEntries, checkFrame, entryBodyBytes, spanEntries, PUT_FIRST_ENTRY, PUT_SHARED_HEADERS, type EventLike } from '../src/channels/file/framing.ts';
import { encodePutLines } from '../src/channels/file/put-lines.ts';
import { LineMover } from '../src/channels/file/line-mover.ts';
import { LineBatch } from '../src/core/line-batch.ts';

/**
 * A line batch is encoded into the very frame its events would make: the
 * segments are copied whole and each line moved down into place, so a wrong
 * move would show as a byte that differs from encodePutBatch's frame.
 */

/** Lays `lines` out in read buffers as a reader would: each ended by \n or \r\n, a new buffer at each cut. */
function batchOf(lines: Uint8Array[], crlf: boolean[], cuts: Set<number>, headers: Record<string, string>): LineBatch {
  const batch = new LineBatch(headers, Math.max(1, lines.length));
  let i = 0;
  while (i < lines.length) {
    // a buffer holding lines i..j-1, with a little junk before the first (bytes of a line already handed out)
    let j = i + 1;
    while (j < lines.length && !cuts.has(j)) j++;
    const parts: number[] = [7, 7, 10];
    const at: [number, number][] = [];
    for (let k = i; k < j; k++) {
      const s = parts.length;
      parts.push(...lines[k]);
      at.push([s, s + lines[k].length]);
      if (crlf[k]) parts.push(13);
      parts.push(10);
    }
    const buf = Buffer.from(parts);
    for (const [s, e] of at) batch.add(buf, s, e);
    i = j;
  }
  return batch;
}

const bodyArb = fc.uint8Array({ minLength: 0, maxLength: 300 }).map((b) => b.map((x) => (x === 10 ? 32 : x)));
const headersArb = fc.oneof(
  fc.constant({}),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 40 }), { maxKeys: 4 }),
  fc.record({ file: fc.constant('/var/log/app.log'), host: fc.constant('hé-ü') }),
);

// one mover for every run, as a channel has: its memory grows and is reused across batches of all sizes
const mover = new LineMover();

test('encodePutLines makes the same frame as encodePutBatch of its events, over segments, CRLF and headers', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(bodyArb, fc.boolean()), { minLength: 1, maxLength: 150 }),
      fc.uniqueArray(fc.nat(149), { maxLength: 8 }),
      headersArb,
      (rows, cutList, headers) => {
        const lines = rows.map(([b]) => b);
        const batch = batchOf(lines, rows.map(([, c]) => c), new Set(cutList), headers);
        const viaEvents = encodePutBatch(batch.events(), 1234.5);
        const viaLines = encodePutLines(batch, 1234.5);
        assert.ok(Buffer.compare(viaLines, viaEvents) === 0, 'the two frames are byte for byte the same');
        const viaMover = encodePutLines(batch, 1234.5, undefined, mover);
        assert.ok(Buffer.compare(viaMover, viaEvents) === 0, 'the WebAssembly mover makes the same frame');
        assert.is(checkFrame(viaLines, 0, viaLines.length).kind, 'ok');
        const out: EventLike[] = [];
        decodeEntries(viaLines, 24, viaLines.length, lines.length, out);
        assert.equal(out.map((e) => Buffer.from(e.body).toString('hex')), lines.map((l) => Buffer.from(l).toString('hex')));
      },
    ),
    { numRuns: 400 },
  );
});

test('a line batch starts a new segment at a new buffer, after a gap wider than a line end, or going backwards', () => {
  const a = Buffer.from('one\ntwo\r\nthree\n\n\nfour\n');
  const b = new LineBatch({}, 8);
  b.add(a, 0, 3); // one
  b.add(a, 4, 7); // two, after \n
  b.add(a, 9, 14); // three, after \r\n
  b.add(a, 17, 21); // four, after three line ends: a new segment
  b.add(a, 0, 3); // behind the last line: a new segment
  b.add(Buffer.from('x'), 0, 1); // another buffer
  assert.equal(b.segFrom, [0, 3, 4, 5]);
  assert.is(b.bytes, 3 + 3 + 5 + 4 + 3 + 1);
  assert.equal(b.events().map((e) => Buffer.from(e.body).toString()), ['one', 'two', 'three', 'four', 'one', 'x']);
  assert.ok(Buffer.compare(encodePutLines(b, 1), encodePutBatch(b.events(), 1)) === 0);
  assert.throws(() => {
    const full = new LineBatch({}, 1);
    full.add(a, 0, 3);
    full.add(a, 4, 7);
  }, /at most 1 lines/);
});

test('the body bytes of any run of a line frame follow from its length and count, as a walk over its entries finds them', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(bodyArb, fc.boolean()), { minLength: 1, maxLength: 60 }),
      headersArb,
      fc.nat(59),
      fc.nat(60),
      (rows, headers, skip, take) => {
        const lines = rows.map(([b]) => b);
        const batch = batchOf(lines, rows.map(([, c]) => c), new Set(), headers);
        const frame = encodePutLines(batch, 1, undefined, mover);
        assert.is(frame[7] & PUT_SHARED_HEADERS, PUT_SHARED_HEADERS, 'a line frame says its entries share the first one\'s headers');
        // a frame of events with different headers says nothing: its runs are walked
        const plain = encodePutBatch(batch.events().map((e, i) => ({ ...e, headers: { n: String(i) } })), 1);
        assert.is(plain[7], lines.length === 1 ? PUT_SHARED_HEADERS : 0);
        const from = skip % lines.length;
        for (const b of [frame, plain]) {
          const start = spanEntries(b, PUT_FIRST_ENTRY, b.length, from).stop;
          const run = spanEntries(b, start, b.length, take);
          const want = lines.slice(from, from + run.count).reduce((n, l) => n + l.length, 0);
          // as the log reader hands runs out: saying whether their frame has the flag
          assert.is(entryBodyBytes({ buf: b, from: start, to: run.stop, count: run.count, sharedHeaders: (b[7] & PUT_SHARED_HEADERS) !== 0 }), want);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('the mover grows its memory for a large batch, and a batch too large for it is moved in JavaScript, to the same frame', () => {
  for (const [lines, size] of [[3000, 700], [90, 100_000]] as const) {
    const rows = Array.from({ length: lines }, (_, i) => Buffer.alloc(size - (i % 7), 65 + (i % 26)));
    const batch = batchOf(rows, rows.map((_, i) => i % 3 === 0), new Set([lines >> 1]), { file: '/var/log/big.log' });
    const viaMover = encodePutLines(batch, 5, undefined, mover);
    assert.ok(Buffer.compare(viaMover, encodePutBatch(batch.events(), 5)) === 0, `${lines} lines of ~${size} bytes`);
  }
  assert.ok(new LineMover().fits(3000 * 702, 3000));
  assert.not.ok(new LineMover().fits(90 * 100_002, 90), 'the second batch takes the JavaScript path');
});

test('lines far into their read buffer (the mover is handed an offset below its own input, which wraps) make the same frame', () => {
  const buf = Buffer.alloc(300_000, 0x2e);
  const batch = new LineBatch({ file: '/var/log/far.log' }, 100);
  let at = 200_000;
  for (let i = 0; i < 100; i++) {
    const line = Buffer.from(`far line ${i} ${'y'.repeat(i)}`);
    line.copy(buf, at);
    batch.add(buf, at, at + line.length);
    buf[at + line.length] = 10;
    at += line.length + 1;
  }
  assert.ok(Buffer.compare(encodePutLines(batch, 7, undefined, mover), encodePutBatch(batch.events(), 7)) === 0);
});

test.run();
