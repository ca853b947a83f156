import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BufferPool } from '../src/core/buffer-pool.ts';
import { chunkBytes, FileReader, SYNC_READ_MAX, type LineMark } from '../src/sources/taildir/reader.ts';
import { tempDir } from './helpers/poll.ts';

interface Got { body: Buffer; offset: number; mark: LineMark }

async function readAll(r: FileReader, max = 1000): Promise<Got[]> {
  const out: Got[] = [];
  for (;;) {
    const res = await r.read(max, (buf, start, end, offset, mark) => out.push({ body: Buffer.from(buf.subarray(start, end)), offset, mark }));
    if (res.eof) return out;
  }
}

function withFile(content: string | Buffer, fn: (path: string, fd: number) => Promise<void>): () => Promise<void> {
  return async () => {
    const { dir, cleanup } = tempDir();
    const path = join(dir, 'f.log');
    writeFileSync(path, content);
    const fd = openSync(path, 'r');
    try {
      await fn(path, fd);
    } finally {
      closeSync(fd);
      cleanup();
    }
  };
}

test('splits on \\n, drops the \\r of \\r\\n, keeps empty lines, reports offsets', withFile('a\r\n\nbc\n', async (_p, fd) => {
  const r = new FileReader(0, { maxLineLength: 100, longLines: 'split' });
  r.fd = fd;
  const got = await readAll(r);
  assert.equal(got.map((g) => g.body.toString()), ['a', '', 'bc']);
  assert.equal(got.map((g) => g.offset), [0, 3, 4]);
  assert.is(r.pos, 7);
}));

test('a partial line waits for its newline, then comes whole', withFile('one\ntw', async (path, fd) => {
  const r = new FileReader(0, { maxLineLength: 100, longLines: 'split', chunkSize: 4096 });
  r.fd = fd;
  let got = await readAll(r);
  assert.equal(got.map((g) => g.body.toString()), ['one']);
  assert.is(r.pos, 4);
  assert.is(r.readAt, 6);
  appendFileSync(path, 'o\nthree');
  got = await readAll(r);
  assert.equal(got.map((g) => g.body.toString()), ['two']);
  assert.is(got[0].offset, 4);
}));

test('lines across many chunk boundaries come out intact', async () => {
  const lines = Array.from({ length: 3000 }, (_, i) => `line-${i}-${'x'.repeat(i % 97)}`);
  await withFile(lines.join('\n') + '\n', async (_p, fd) => {
    const r = new FileReader(0, { maxLineLength: 1000, longLines: 'split', chunkSize: 4096 });
    r.fd = fd;
    const got = await readAll(r, 7);
    assert.equal(got.map((g) => g.body.toString()), lines);
  })();
});

test('with the size known, a read that expects little is made synchronously, a backlog asynchronously; the lines are the same', async () => {
  const lines = Array.from({ length: 4000 }, (_, i) => `line-${i}-${'x'.repeat(i % 97)}`);
  const text = lines.join('\n') + '\n';
  assert.ok(text.length > 2 * SYNC_READ_MAX, 'the file is a backlog at first');
  await withFile(text, async (path, fd) => {
    const r = new FileReader(0, { maxLineLength: 1000, longLines: 'split', chunkSize: 16 * 1024 });
    r.fd = fd;
    const out: string[] = [];
    const sink = (buf: Buffer, start: number, end: number): void => void out.push(buf.toString('utf8', start, end));
    let size = text.length;
    // far from the end: the read is asynchronous, nothing is handed out before it settles
    let pending = r.read(10, sink, size);
    assert.is(out.length, 0);
    await pending;
    assert.is(out.length, 10);
    while (!(await r.read(50, sink, size)).eof);
    assert.equal(out, lines);
    // a live append, then a read told the new size: synchronous (its lines are out before read()
    // returns), the partial line kept
    appendFileSync(path, 'live-1\nlive-2\nliv');
    size += 'live-1\nlive-2\nliv'.length;
    const before = out.length;
    pending = r.read(50, sink, size);
    assert.equal(out.slice(before), ['live-1', 'live-2']);
    assert.ok((await pending).eof);
    assert.is(r.buffered, 3);
  })();
});

test('a size seen before the file grew by a backlog: the reads past it are asynchronous, each synchronous one capped', async () => {
  const lines = Array.from({ length: 8000 }, (_, i) => `grown-${i}-${'y'.repeat(i % 61)}`);
  const text = lines.join('\n') + '\n';
  assert.ok(text.length > 4 * SYNC_READ_MAX);
  await withFile(text, async (_p, fd) => {
    const r = new FileReader(0, { maxLineLength: 1000, longLines: 'split', chunkSize: 256 * 1024 });
    r.fd = fd;
    const out: string[] = [];
    const sink = (buf: Buffer, start: number, end: number): void => void out.push(buf.toString('utf8', start, end));
    // the source saw 6 bytes; the file holds far more now
    const pending = r.read(lines.length, sink, 6);
    // what came out before read() returned was read synchronously: at most one capped read's worth
    const syncBytes = out.reduce((n, l) => n + l.length + 1, 0);
    assert.ok(out.length > 0, 'the read at the size seen is synchronous');
    assert.ok(syncBytes <= SYNC_READ_MAX, `${syncBytes} bytes handed out synchronously`);
    await pending;
    while (!(await r.read(lines.length, sink, 6)).eof);
    assert.equal(out, lines);
  })();
});

test('invalid UTF-8 and binary bytes pass through as bytes', withFile(Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0a, 0xc3, 0x28, 0x0a]), async (_p, fd) => {
  const r = new FileReader(0, { maxLineLength: 100, longLines: 'split' });
  r.fd = fd;
  const got = await readAll(r);
  assert.equal(got.map((g) => [...g.body]), [[0xff, 0xfe, 0x00, 0x41], [0xc3, 0x28]]);
}));

test('an over-long line is split into marked pieces; memory stays bounded', withFile('x'.repeat(25) + '\nok\n', async (_p, fd) => {
  const r = new FileReader(0, { maxLineLength: 10, longLines: 'split', chunkSize: 4096 });
  r.fd = fd;
  const got = await readAll(r);
  assert.equal(got.map((g) => g.body.toString()), ['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5), 'ok']);
  assert.equal(got.map((g) => g.mark?.value), ['1', '2', '3', undefined]);
  assert.equal(got.map((g) => g.offset), [0, 10, 20, 26]);
  assert.is(r.linesSplit, 1);
}));

test('an over-long line without newline yet is split as it grows (no unbounded buffer)', withFile('y'.repeat(100_000), async (_p, fd) => {
  const r = new FileReader(0, { maxLineLength: 1000, longLines: 'split', chunkSize: 4096 });
  r.fd = fd;
  const got = await readAll(r);
  // the last 1000 bytes wait: they may yet be a whole line of exactly maxLineLength
  assert.is(got.length, 99);
  assert.ok(r.buffered <= 1000);
}));

test('a line of exactly maxLineLength bytes whose newline (or CRLF) comes later is one line, not split', async () => {
  for (const eol of ['\n', '\r\n']) {
    const { dir, cleanup } = tempDir();
    const path = join(dir, 'f.log');
    writeFileSync(path, 'A'.repeat(16) + (eol === '\r\n' ? '\r' : ''));
    const fd = openSync(path, 'r');
    try {
      const r = new FileReader(0, { maxLineLength: 16, longLines: 'split' });
      r.fd = fd;
      assert.equal(await readAll(r), [], 'nothing yet: the line may be exactly 16 bytes');
      appendFileSync(path, '\nB\n');
      const got = await readAll(r);
      assert.equal(got.map((g) => [g.body.toString(), g.mark]), [['A'.repeat(16), undefined], ['B', undefined]]);
      assert.is(r.linesSplit, 0);
    } finally {
      closeSync(fd);
      cleanup();
    }
  }
});

test('truncate mode keeps the head of an over-long line and skips the rest', withFile('z'.repeat(5000) + '\nnext\n', async (_p, fd) => {
  const r = new FileReader(0, { maxLineLength: 100, longLines: 'truncate', chunkSize: 4096 });
  r.fd = fd;
  const got = await readAll(r);
  assert.equal(got.map((g) => g.body.length), [100, 4]);
  assert.equal(got[0].mark, { key: 'truncated', value: 'true' });
  assert.is(got[1].body.toString(), 'next');
  assert.is(r.linesTruncated, 1);
  assert.is(r.pos, 5006);
}));

test('flushPartial hands out the last unterminated line', withFile('a\nlast', async (_p, fd) => {
  const r = new FileReader(0, { maxLineLength: 100, longLines: 'split' });
  r.fd = fd;
  await readAll(r);
  const out: string[] = [];
  assert.is(r.flushPartial((buf, start, end) => out.push(buf.toString('utf8', start, end))), 1);
  assert.equal(out, ['last']);
  assert.is(r.pos, 6);
}));

test('bytesBefore: after every batch, the bytes before pos are the file\'s own (or undefined once the buffer moved on)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'f.log');
    let content = '';
    for (let i = 0; i < 3000; i++) content += `line ${i} ${'x'.repeat(i % 37)}\n`;
    writeFileSync(path, content);
    const file = Buffer.from(content);
    const fd = openSync(path, 'r');
    // small chunks: the buffer is replaced (and the bytes before pos lost) many times
    const r = new FileReader(0, { maxLineLength: 1000, longLines: 'split', chunkSize: 4096 });
    r.fd = fd;
    let held = 0;
    let gone = 0;
    for (;;) {
      const res = await r.read(7, () => undefined);
      for (const n of [1, 100, 1024]) {
        const w = r.bytesBefore(n);
        if (w === undefined) {
          gone++;
          continue;
        }
        held++;
        assert.ok(w.equals(file.subarray(r.pos - n, r.pos)), `the ${n} bytes before ${r.pos}`);
      }
      if (res.eof) break;
    }
    closeSync(fd);
    assert.ok(held > 1000 && gone > 0, `${held} windows in hand, ${gone} not`);
  } finally {
    cleanup();
  }
});

test('a reader caught up after a backlog hands its chunk back to the pool, keeping its partial line and the bytes before pos; a live file\'s reader keeps its chunk', async () => {
  const { dir, cleanup } = tempDir();
  const fds: number[] = [];
  try {
    const pool = new BufferPool(chunkBytes(undefined), 4);
    const open = (name: string, content: string): FileReader => {
      writeFileSync(join(dir, name), content);
      const r = new FileReader(0, { maxLineLength: 1000, longLines: 'split', pool });
      r.fd = openSync(join(dir, name), 'r');
      fds.push(r.fd);
      return r;
    };
    const lines = (tag: string, n: number): string => Array.from({ length: n }, (_, i) => `${tag} ${i} ${'x'.repeat(100)}\n`).join('');
    // a backlog of several chunks, ending in a partial line
    const a = open('a.log', lines('a', 12_000) + 'a-partial');
    const got: string[] = [];
    const collect = (buf: Buffer, start: number, end: number): void => void got.push(buf.toString('latin1', start, end));
    while (!(await a.read(1000, collect)).eof);
    assert.is(got.length, 12_000);
    // its chunk was handed back (the next reader reads into it), a small buffer kept
    assert.ok(a.bufferBytes < 64 * 1024, `${a.bufferBytes} bytes kept`);
    // but never while a batch holds lines in it: a chunk held is not handed out again until it is let go
    const h = open('h.log', lines('h', 6_000));
    const held = new Set<Buffer>();
    while (!(await h.read(1000, (buf) => { if (!held.has(buf)) { pool.hold(buf); held.add(buf); } })).eof);
    assert.ok(h.bufferBytes < 64 * 1024);
    // everything the pool has to give (until it makes a new one)
    const given: Buffer[] = [];
    for (let r = pool.recycled; ; r = pool.recycled) {
      given.push(pool.get(chunkBytes(undefined), chunkBytes(undefined)));
      if (pool.recycled === r) break;
    }
    for (const b of given) assert.not.ok(held.has(b), 'a chunk a batch holds was handed out');
    for (const b of held) pool.release(b);
    const again = pool.get(chunkBytes(undefined), chunkBytes(undefined));
    assert.ok(held.has(again), 'let go, the chunk is reused');
    const before = pool.recycled;
    const b = open('b.log', lines('b', 100));
    while (!(await b.read(1000, () => undefined)).eof);
    assert.is(pool.recycled, before + 1);
    // what it still needs it kept: the bytes before pos, and the partial line, completed by a later append
    assert.equal(a.bytesBefore(1024)?.toString('latin1'), lines('a', 12_000).slice(-1024));
    appendFileSync(join(dir, 'a.log'), '-done\nnext\n');
    got.length = 0;
    while (!(await a.read(1000, collect)).eof);
    assert.equal(got, ['a-partial-done', 'next']);
    // readers of small files and small appends (b, and c below) keep their chunks for the next appends
    const c = open('c.log', lines('c', 10));
    while (!(await c.read(1000, () => undefined)).eof);
    appendFileSync(join(dir, 'c.log'), lines('c2', 10));
    while (!(await c.read(1000, () => undefined)).eof);
    assert.is(c.bufferBytes, chunkBytes(undefined));
    assert.is(b.bufferBytes, chunkBytes(undefined));
  } finally {
    for (const fd of fds) closeSync(fd);
    cleanup();
  }
});

test('a read stops once it has handed out maxBytes of the file: the line that passes it is the last', withFile(Array.from({ length: 10 }, (_, i) => `${i}${'x'.repeat(98)}\n`).join(''), async (_p, fd) => {
  const r = new FileReader(0, { maxLineLength: 1000, longLines: 'split' });
  r.fd = fd;
  const got: string[] = [];
  const res = await r.read(1000, (buf, start) => void got.push(String.fromCharCode(buf[start])), Infinity, 250);
  assert.equal(got, ['0', '1', '2']);
  assert.is(res.eof, false);
  assert.is(r.pos, 300);
  while (!(await r.read(1000, (buf, start) => void got.push(String.fromCharCode(buf[start])), Infinity, 250)).eof);
  assert.equal(got, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
}));

test.run();
