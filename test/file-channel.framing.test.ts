import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32, crc32js } from '../src/channels/file/crc32.ts';
import {
  checkFrame, decodeEntries, decodeHeaderBlock, decodeRuns, decodeSegmentHeader, decodeTake, encodePutBatch, encodeSegmentHeader, encodeTake,
  entryBack, entryBodyBytes, FORMAT_VERSION, FRAME_HEADER_SIZE, FrameType, layoutEntry, newLayout, pos, PUT_FIRST_ENTRY, putCountOf, putTimeOf,
  resync, runBlock, SAME_AS_FIRST, SEGMENT_HEADER_SIZE, startRun, type EntryRun, type EventLike,
} from '../src/channels/file/framing.ts';
import { insertRange, subtractRange } from '../src/channels/file/ranges.ts';

test('crc32 matches the standard check value, natively and in JS', () => {
  assert.is(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.is(crc32js(Buffer.from('123456789')), 0xcbf43926);
  const b = Buffer.alloc(100_003);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7919) & 0xff;
  assert.is(crc32(b, 3, 99_000), crc32js(b, 3, 99_000));
});

test('segment header round-trips and carries the format version', () => {
  const h = encodeSegmentHeader(123456789012, 1700000000123);
  assert.is(h.length, SEGMENT_HEADER_SIZE);
  const d = decodeSegmentHeader(h);
  assert.ok(d.ok);
  if (d.ok) {
    assert.is(d.header.id, 123456789012);
    assert.is(d.header.version, FORMAT_VERSION);
    assert.is(d.header.createdAt, 1700000000123);
  }
  h[20] ^= 1;
  assert.is(decodeSegmentHeader(h).ok, false);
});

test('a put batch is one Put frame; events keep headers and body bytes exactly; entries lead back to their frame', () => {
  const body = new Uint8Array([0, 255, 10, 13, 0xc3, 0x28, 0]);
  const events: EventLike[] = [
    { headers: { host: 'h1', 'ünï': 'cödé', empty: '' }, body },
    { headers: {}, body: new Uint8Array(0) },
    { headers: { a: 'b' }, body: Buffer.from('third') },
  ];
  const b = encodePutBatch(events, 1234.5);
  const r = checkFrame(b, 0, b.length);
  assert.equal(r, { kind: 'ok', type: FrameType.Put, length: b.length - FRAME_HEADER_SIZE });
  assert.is(putCountOf(b, 0), 3);
  assert.is(putTimeOf(b, 0), 1234.5);
  const out: EventLike[] = [];
  const stop = decodeEntries(b, PUT_FIRST_ENTRY, b.length, 2, out);
  assert.is(out.length, 2);
  assert.equal(out[0].headers, events[0].headers);
  assert.equal([...out[0].body], [...body]);
  assert.equal(out[1].headers, {});
  assert.is(out[1].body.length, 0);
  assert.is(entryBack(b, stop), stop, 'an entry knows its distance from the frame start');
  decodeEntries(b, stop, b.length, 10, out);
  assert.equal(out[2].headers, { a: 'b' });
  assert.is(Buffer.from(out[2].body).toString(), 'third');
});

test('decoded events with the previous event\'s headers share one frozen headers object; any difference gets its own', () => {
  const hs: Record<string, string>[] = [
    { file: '/a.log' }, { file: '/a.log' }, { file: '/a.log' },
    { file: '/b.log' }, { file: '/b.log' },
    { file: '/b.log', byteoffset: '7' }, { file: '/b.log', byteoffset: '8' },
    { file: '/b.log' }, {}, {}, { x: '/b.log' }, { file: '/a.log', 'ü': 'é' }, { file: '/a.log', 'ü': 'é' },
  ];
  const events: EventLike[] = hs.map((h, i) => ({ headers: { ...h }, body: Buffer.from(`e${i}`) }));
  const b = encodePutBatch(events, 1);
  const out: EventLike[] = [];
  decodeEntries(b, PUT_FIRST_ENTRY, b.length, 100, out);
  assert.equal(out.map((e) => e.headers), hs, 'every event keeps exactly its headers');
  assert.equal(out.map((e) => Buffer.from(e.body).toString()), hs.map((_, i) => `e${i}`));
  const shared = (i: number): boolean => out[i].headers === out[i - 1].headers;
  assert.equal([1, 2, 4, 9, 12].map(shared), [true, true, true, true, true]);
  assert.equal([3, 5, 6, 7, 8, 10, 11].map(shared), [false, false, false, false, false, false, false]);
  assert.ok(Object.isFrozen(out[0].headers), 'a shared headers object cannot be changed under another event');
  assert.throws(() => {
    out[1].headers.file = 'changed';
  });
});

test('entries with their frame\'s first entry\'s headers carry no block (SAME_AS_FIRST) until one differs; every reader finds their headers', () => {
  const a = { file: '/var/log/app.log', host: 'h1' };
  const hs: Record<string, string>[] = [a, a, a, { file: '/var/log/b.log' }, a, a, {}, a];
  const events: EventLike[] = hs.map((h, i) => ({ headers: { ...h }, body: Buffer.from(`line ${i} ${'x'.repeat(i)}`) }));
  const b = encodePutBatch(events, 1);
  const at: number[] = [];
  for (let p = PUT_FIRST_ENTRY; p < b.length; p += 8 + b.readUInt32LE(p + 4)) at.push(p);
  assert.equal(at.map((p) => b.readUInt16LE(p + 8)), [2, SAME_AS_FIRST, SAME_AS_FIRST, 1, 2, 2, 0, 2], 'only entries before the first other headers say SAME_AS_FIRST');
  assert.is(at[2] - at[1], 10 + events[1].body.length, 'a SAME_AS_FIRST entry holds no header block');
  const bodies = events.map((e) => Buffer.from(e.body).toString());
  for (let i = 0; i < at.length; i++) {
    // a take resuming at any entry (the frame's first one not in the run)
    const out: EventLike[] = [];
    decodeEntries(b, at[i], b.length, Infinity, out);
    assert.equal(out.map((e) => e.headers), hs.slice(i), `decoded from entry ${i}`);
    assert.equal(out.map((e) => Buffer.from(e.body).toString()), bodies.slice(i));
    const run: EntryRun = { buf: b, from: at[i], to: b.length, count: at.length - i };
    const layout = newLayout();
    startRun(run, layout);
    const walked: Record<string, string>[] = [];
    for (let p = run.from; p < run.to; p = layout.end) {
      layoutEntry(b, p, layout);
      walked.push(decodeHeaderBlock(b, layout.headersAt, layout.headerCount));
      assert.is(b.toString('utf8', layout.bodyAt, layout.end), bodies[i + walked.length - 1]);
    }
    assert.equal(walked, hs.slice(i), `walked from entry ${i}`);
    assert.is(entryBodyBytes(run), bodies.slice(i).reduce((n, x) => n + x.length, 0));
    // the same entries copied away from their frame, with the block they stand for before them (the encoder thread's copy)
    const block = runBlock(run);
    assert.is(block.count >= 0, i === 1 || i === 2, `entry ${i} needs its frame's block`);
    if (block.count >= 0) {
      const copy = Buffer.concat([Buffer.from('pad'), b.subarray(block.at, block.at + block.len), b.subarray(run.from, run.to)]);
      const moved: EntryRun = { buf: copy, from: 3 + block.len, to: copy.length, count: run.count, blockAt: 3, blockCount: block.count };
      const got: EventLike[] = [];
      decodeRuns([moved], got);
      assert.equal(got.map((e) => e.headers), hs.slice(i), `copied from entry ${i}`);
      assert.equal(runBlock(moved), { at: 3, count: block.count, len: block.len });
    }
  }
  const many = encodePutBatch(Array.from({ length: 100 }, () => ({ headers: a, body: Buffer.from('x') })), 1);
  assert.is(many.length, PUT_FIRST_ENTRY + 100 * 11 + (6 + 4 + 16) + (6 + 4 + 2), 'one header block for the frame');
});

test('a flipped byte fails the CRC, a cut frame is short, resync finds the next frame', () => {
  const one = encodePutBatch([{ headers: {}, body: Buffer.from('aaaa') }], 1);
  const two = encodePutBatch([{ headers: {}, body: Buffer.from('bbbb') }], 2);
  const b = Buffer.concat([one, two]);
  const bad = Buffer.from(b);
  bad[PUT_FIRST_ENTRY + 11] ^= 0x40;
  assert.equal(checkFrame(bad, 0, bad.length), { kind: 'bad', reason: 'checksum mismatch' });
  assert.is(resync(bad, 1, bad.length), one.length);
  assert.is(checkFrame(b, 0, one.length - 1).kind, 'short');
});

test('take frames round-trip their spans', () => {
  const ranges = [{ start: pos(1, 40), end: pos(1, 4000) }, { start: pos(3, 40), end: pos(7, 99) }];
  const b = encodeTake(17, ranges);
  const r = checkFrame(b, 0, b.length);
  assert.is(r.kind, 'ok');
  assert.equal(decodeTake(b, FRAME_HEADER_SIZE), { count: 17, ranges });
});

test('span sets merge touching spans and split on subtraction', () => {
  const l = [{ start: 10, end: 20 }];
  insertRange(l, { start: 20, end: 30 });
  assert.equal(l, [{ start: 10, end: 30 }]);
  insertRange(l, { start: 0, end: 5 });
  assert.equal(l, [{ start: 0, end: 5 }, { start: 10, end: 30 }]);
  subtractRange(l, { start: 12, end: 15 });
  assert.equal(l, [{ start: 0, end: 5 }, { start: 10, end: 12 }, { start: 15, end: 30 }]);
  subtractRange(l, { start: 0, end: 100 });
  assert.equal(l, []);
});

test.run();
