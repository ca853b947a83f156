import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { writeFileSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { NewlineFinder } from '../src/sources/taildir/newline.ts';
import { FileReader } from '../src/sources/taildir/reader.ts';
import { tempDir } from './helpers/poll.ts';

function reference(b: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) if (b[i] === 0x0a) return i;
  return -1;
}

// bytes near \n in value (0x0b, 0x09, 0x8a, 0x0a with other bits) are what a word test can get wrong
const byte = fc.oneof(fc.constantFrom(0x0a, 0x0b, 0x09, 0x8a, 0x00, 0xff, 0xa0), fc.integer({ min: 0, max: 255 }));

test('a word at a time finds the same first \\n as a byte loop: any offset, any length, any memory size', () => {
  fc.assert(fc.property(
    fc.array(byte, { maxLength: 300 }), fc.nat(7), fc.nat(300), fc.nat(300), fc.nat(3),
    (bytes, lead, a, b, tail) => {
      // a buffer at any byteOffset inside memory of any size (not always a multiple of 4)
      const mem = new ArrayBuffer(lead + bytes.length + tail);
      const buf = Buffer.from(mem, lead, bytes.length);
      buf.set(bytes);
      const from = Math.min(a, bytes.length);
      const end = Math.min(Math.max(from, b), bytes.length);
      const want = reference(buf, from, end);
      assert.is(new NewlineFinder(false).next(buf, from, end), want);
      assert.is(new NewlineFinder(true).next(buf, from, end), want);
    },
  ), { numRuns: 3000 });
});

test('one finder over many buffers and back (its views follow the buffer searched)', () => {
  const f = new NewlineFinder(false);
  const a = Buffer.from('abcdefgh\nij');
  const b = Buffer.from('xy\nz');
  assert.is(f.next(a, 0, a.length), 8);
  assert.is(f.next(b, 0, b.length), 2);
  assert.is(f.next(a, 9, a.length), -1);
  f.forget();
  assert.is(f.next(b, 3, b.length), -1);
  assert.is(f.next(b.subarray(1), 0, 3), 1);
});

test('a reader finding line ends a word at a time reads the same lines, across chunk boundaries', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'f.log');
    const lines = Array.from({ length: 3000 }, (_, i) => `line-${i}-${'x'.repeat(i % 97)}${i % 5 === 0 ? '\r' : ''}`);
    writeFileSync(path, lines.join('\n') + '\npartial');
    const read = async (nativeIndexOf: boolean): Promise<string[]> => {
      const r = new FileReader(0, { maxLineLength: 1000, longLines: 'split', chunkSize: 4096, nativeIndexOf });
      r.fd = openSync(path, 'r');
      const out: string[] = [];
      try {
        for (;;) {
          const res = await r.read(7, (buf, s, e) => out.push(buf.toString('latin1', s, e)));
          if (res.eof) return out;
        }
      } finally {
        closeSync(r.fd);
      }
    };
    const words = await read(false);
    assert.equal(words, lines.map((l) => l.replace(/\r$/, '')));
    assert.equal(words, await read(true));
  } finally {
    cleanup();
  }
});

test('a reader that moved to a fresh chunk keeps no view of the old one (an idle file holds one chunk, not two)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'f.log');
    // 250,000 bytes of 100-byte lines: the last read, the one that finds the end, comes after a move to a fresh chunk
    writeFileSync(path, ('y'.repeat(99) + '\n').repeat(2500));
    const r = new FileReader(0, { maxLineLength: 1 << 20, longLines: 'split', nativeIndexOf: false });
    r.fd = openSync(path, 'r');
    const finder = (r as unknown as { newlines: NewlineFinder }).newlines;
    const own = (): ArrayBufferLike => (r as unknown as { buf: Buffer }).buf.buffer;
    let lines = 0;
    try {
      const res = await r.read(1e9, () => void lines++);
      assert.ok(res.eof);
      assert.is(lines, 2500);
      assert.ok(finder.memory === undefined || finder.memory === own(), 'the finder keeps views of a chunk its reader let go');
    } finally {
      closeSync(r.fd);
    }
  } finally {
    cleanup();
  }
});

test.run();
