import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32c } from '../src/channels/file/crc32c.ts';
import {
  checkFrame, decodeEvent, decodeSegmentHeader, decodeTake, encodePutBatch, encodeSegmentHeader, encodeTake,
  FORMAT_VERSION, FRAME_HEADER_SIZE, FrameType, pos, resync, SEGMENT_HEADER_SIZE,
} from '../src/channels/file/framing.ts';
import { insertRange, subtractRange } from '../src/channels/file/ranges.ts';

test('crc32c matches the standard check value and continues across calls', () => {
  assert.is(crc32c(Buffer.from('123456789')), 0xe3069283);
  const b = Buffer.from('hello, write-ahead log');
  assert.is(crc32c(b, 5), crc32c(b, 5, b.length, crc32c(b, 0, 0)));
  assert.is(crc32c(b, 0, b.length), crc32c(b.subarray(8), 0, b.length - 8, crc32c(b, 0, 8)));
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

test('a put batch is Event frames then a Commit frame; events keep headers and bytes exactly', () => {
  const body = new Uint8Array([0, 255, 10, 13, 0xc3, 0x28, 0]);
  const events = [
    { headers: { host: 'h1', 'ünï': 'cödé', empty: '' }, body },
    { headers: {}, body: new Uint8Array(0) },
  ];
  const b = encodePutBatch(events, 1234.5);
  let at = 0;
  const got: ReturnType<typeof decodeEvent>[] = [];
  const types: number[] = [];
  while (at < b.length) {
    const r = checkFrame(b, at, b.length);
    assert.is(r.kind, 'ok');
    if (r.kind !== 'ok') break;
    types.push(r.type);
    if (r.type === FrameType.Event) got.push(decodeEvent(b, at + FRAME_HEADER_SIZE, r.length));
    else assert.is(b.readUInt32LE(at + FRAME_HEADER_SIZE), 2);
    at += FRAME_HEADER_SIZE + r.length;
  }
  assert.equal(types, [FrameType.Event, FrameType.Event, FrameType.Commit]);
  assert.equal(got[0].headers, events[0].headers);
  assert.equal([...got[0].body], [...body]);
  assert.is(got[0].putTime, 1234.5);
  assert.equal(got[1].headers, {});
  assert.is(got[1].body.length, 0);
});

test('a flipped byte fails the CRC, a cut frame is short, resync finds the next frame', () => {
  const b = encodePutBatch([{ headers: {}, body: Buffer.from('aaaa') }, { headers: {}, body: Buffer.from('bbbb') }], 1);
  const first = checkFrame(b, 0, b.length);
  assert.is(first.kind, 'ok');
  const len = first.kind === 'ok' ? FRAME_HEADER_SIZE + first.length : 0;
  const bad = Buffer.from(b);
  bad[FRAME_HEADER_SIZE + 9] ^= 0x40;
  const r = checkFrame(bad, 0, bad.length);
  assert.is(r.kind, 'bad');
  assert.is(resync(bad, 1, bad.length), len);
  assert.is(checkFrame(b, 0, len - 1).kind, 'short');
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
