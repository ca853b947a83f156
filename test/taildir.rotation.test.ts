import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, copyFileSync, readdirSync, readFileSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeProcessor, buildSource, FAST } from './taildir.harness.ts';
import { tempDir, until } from './helpers/poll.ts';

const seq = (i: number): string => `seq-${String(i).padStart(6, '0')}`;

function assertExactly(proc: FakeProcessor, n: number): void {
  const bodies = proc.bodies();
  const counts = new Map<string, number>();
  for (const b of bodies) counts.set(b, (counts.get(b) ?? 0) + 1);
  const dups = [...counts].filter(([, c]) => c > 1).map(([b]) => b);
  const missing = Array.from({ length: n }, (_, i) => seq(i)).filter((s) => !counts.has(s));
  assert.equal(dups, [], 'duplicates');
  assert.equal(missing, [], 'missing');
  assert.is(bodies.length, n);
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 2));

test('rename rotation under steady writes delivers every line once', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log'), batchSize: 50, ...FAST }, proc, dir);
  try {
    const live = join(dir, 'app.log');
    writeFileSync(live, '');
    await source.start();
    let n = 0;
    for (let rot = 1; rot <= 5; rot++) {
      for (let k = 0; k < 40; k++) {
        appendFileSync(live, `${seq(n++)}\n${seq(n++)}\n`);
        if (k % 8 === 0) await tick();
      }
      renameSync(live, join(dir, `app.log.${rot}`));
      appendFileSync(join(dir, `app.log.${rot}`), `${seq(n++)}\n`); // the writer had not reopened yet
      writeFileSync(live, `${seq(n++)}\n`);
      // a file must live under a matching name long enough to be found (a watch event or one listing);
      // real rotations are seconds apart, this one only waits until the new file is followed
      const first = seq(n - 1);
      await until(`${first} delivered`, () => proc.events.some((e) => Buffer.from(e.body).toString() === first));
    }
    await until(`${n} lines`, () => proc.events.length >= n);
    await new Promise((r) => setTimeout(r, 100));
    assertExactly(proc, n);
    assert.is(source.counters.get('BytesAbandoned'), 0);
  } finally {
    await source.stop();
    cleanup();
  }
});

test('old file finished before the new one: lines come in write order across a rotation', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log'), ...FAST, backoffSleepIncrement: 500, maxBackoffSleep: 500 }, proc, dir);
  try {
    const live = join(dir, 'app.log');
    writeFileSync(live, `${seq(0)}\n`);
    await source.start();
    await until('first line', () => proc.events.length === 1);
    appendFileSync(live, `${seq(1)}\n${seq(2)}\n`);
    renameSync(live, join(dir, 'app.log.1'));
    writeFileSync(live, `${seq(3)}\n`);
    await until('4 lines', () => proc.events.length >= 4);
    assert.equal(proc.bodies(), [seq(0), seq(1), seq(2), seq(3)]);
  } finally {
    await source.stop();
    cleanup();
  }
});

test('copytruncate: the truncated file is read again from its start, nothing lost', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source, logs } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log'), ...FAST }, proc, dir);
  try {
    const live = join(dir, 'app.log');
    writeFileSync(live, '');
    await source.start();
    let n = 0;
    for (let round = 0; round < 4; round++) {
      for (let k = 0; k < 30; k++) appendFileSync(live, `${seq(n++)}\n`);
      await until(`${n} lines`, () => proc.events.length >= n);
      copyFileSync(live, join(dir, `app.log.${round}`));
      truncateSync(live, 0);
      // regrow, but less than before: size < offset is the signal
      appendFileSync(live, `${seq(n++)}\n`);
    }
    await until(`${n} lines`, () => proc.events.length >= n);
    assertExactly(proc, n);
    assert.ok(logs.some((l) => /truncated/.test(l)));
  } finally {
    await source.stop();
    cleanup();
  }
});

test('copytruncate followed by regrowth past the old offset is caught by the fingerprint', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log'), ...FAST }, proc, dir);
  try {
    const live = join(dir, 'app.log');
    writeFileSync(live, 'AAAA first\n');
    await source.start();
    await until('first', () => proc.events.length === 1);
    await source.stop();
    // while stopped: truncate and write more than before (size alone cannot tell)
    writeFileSync(live, 'BBBB second, longer than the first\nBBBB third\n');
    const { source: again } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log'), ...FAST }, proc, dir);
    await again.start();
    await until('3 lines', () => proc.events.length >= 3);
    await again.stop();
    assert.equal(proc.bodies(), ['AAAA first', 'BBBB second, longer than the first', 'BBBB third']);
  } finally {
    cleanup();
  }
});

test('inode reuse: a new file on a reused inode is read from its start, not from the old offset', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const keys = { filegroups: 'g', 'filegroups.g': join(dir, '.*\\.log'), ...FAST };
  try {
    const a = join(dir, 'a.log');
    writeFileSync(a, 'old-1 ' + 'o'.repeat(200) + '\nold-2\n');
    const first = buildSource(keys, proc, dir);
    await first.source.start();
    await until('2 lines', () => proc.events.length === 2);
    await first.source.stop();
    const oldIno = statSync(a).ino;
    unlinkSync(a);
    // try to get the same inode back (the file system usually hands it out again)
    let b = '';
    for (let i = 0; i < 50 && !b; i++) {
      const p = join(dir, `b${i}.log`);
      writeFileSync(p, `new-${i}-1\nnew-${i}-2 and more bytes than before so the old offset fits inside\n`);
      if (statSync(p).ino === oldIno) b = p;
      else unlinkSync(p);
    }
    if (!b) {
      // no reuse on this file system: fake the position instead, pointing the old entry at a new file's inode
      b = join(dir, 'b.log');
      writeFileSync(b, 'new-x-1\nnew-x-2 and more bytes than before so the old offset fits inside\n');
      const pos = JSON.parse(readFileSync(first.source.positionFile, 'utf8'));
      pos[0].inode = statSync(b).ino;
      pos[0].file = b;
      writeFileSync(first.source.positionFile, JSON.stringify(pos));
    }
    proc.events.length = 0;
    const second = buildSource(keys, proc, dir);
    await second.source.start();
    await until('2 new lines', () => proc.events.length >= 2);
    await second.source.stop();
    const bodies = proc.bodies();
    assert.is(bodies.length, 2);
    assert.match(bodies[0], /^new-.*-1$/);
    assert.ok(second.logs.some((l) => /stale position/.test(l)), 'the stale position is logged');
  } finally {
    cleanup();
  }
});

test('stale position beyond the end of the file is logged and the file read from its start', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  try {
    const a = join(dir, 'a.log');
    writeFileSync(a, 'x1\nx2\n');
    const pos = join(dir, 'pos.json');
    writeFileSync(pos, JSON.stringify([{ inode: statSync(a).ino, pos: 9999, file: a }]));
    const { source, logs } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'a\\.log'), positionFile: pos, ...FAST }, proc, dir);
    await source.start();
    await until('2 lines', () => proc.events.length >= 2);
    await source.stop();
    assert.equal(proc.bodies(), ['x1', 'x2']);
    assert.ok(logs.some((l) => /stale position/.test(l)));
  } finally {
    cleanup();
  }
});

test('delete while open: read to its end, then released (descriptor closed)', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'd\\.log'), ...FAST }, proc, dir);
  try {
    const d = join(dir, 'd.log');
    writeFileSync(d, `${seq(0)}\n`);
    await source.start();
    await until('first', () => proc.events.length === 1);
    assert.is(source.counters.get('FilesOpen'), 1);
    // a big tail written just before the delete: all of it must still come
    appendFileSync(d, Array.from({ length: 2000 }, (_, i) => `${seq(i + 1)}\n`).join('') + 'unterminated');
    unlinkSync(d);
    await until('all lines', () => proc.events.length >= 2002);
    await until('released', () => source.counters.get('FilesTracked') === 0 && source.counters.get('FilesOpen') === 0);
    const bodies = proc.bodies();
    assert.is(bodies.at(-1), 'unterminated');
    assert.is(new Set(bodies).size, 2002);
    assert.is(source.counters.get('BytesAbandoned'), 0);
  } finally {
    await source.stop();
    cleanup();
  }
});

test('a partial line waits for its newline; a long line is split with a header', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'p\\.log'), maxLineLength: 100, byteOffsetHeader: true, ...FAST }, proc, dir);
  try {
    const p = join(dir, 'p.log');
    writeFileSync(p, 'whole\nhalf');
    await source.start();
    await until('first', () => proc.events.length === 1);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(proc.bodies(), ['whole']);
    appendFileSync(p, '-done\r\n' + 'L'.repeat(250) + '\n');
    await until('all', () => proc.events.length === 5);
    assert.equal(proc.bodies().slice(0, 2), ['whole', 'half-done']);
    assert.equal(proc.events.slice(2).map((e) => [e.body.length, e.headers.split]), [[100, '1'], [100, '2'], [50, '3']]);
    assert.equal(proc.events.map((e) => e.headers.byteoffset), ['0', '6', '17', '117', '217']);
    assert.is(source.counters.get('LinesSplit'), 1);
  } finally {
    await source.stop();
    cleanup();
  }
});

test('1,000 files are all read with at most maxOpenFiles descriptors open', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source } = buildSource({ paths: dir, maxOpenFiles: 32, fileHeader: true, ...FAST }, proc, join(dir, 'state'));
  try {
    for (let i = 0; i < 1000; i++) writeFileSync(join(dir, `f${i}.log`), `f${i}-a\nf${i}-b\n`);
    writeFileSync(join(dir, 'old.log.gz'), 'binary\n');
    let maxOpen = 0;
    const fdDir = '/proc/self/fd';
    const baseFds = readdirSync(fdDir).length;
    let maxFds = 0;
    const sampler = setInterval(() => {
      maxOpen = Math.max(maxOpen, source.counters.get('FilesOpen'));
      maxFds = Math.max(maxFds, readdirSync(fdDir).length);
    }, 5);
    await source.start();
    await until('2000 lines', () => proc.events.length >= 2000, 20_000);
    for (let i = 0; i < 1000; i += 97) appendFileSync(join(dir, `f${i}.log`), `f${i}-c\n`);
    await until('2011 lines', () => proc.events.length >= 2011, 10_000);
    clearInterval(sampler);
    assert.ok(maxOpen <= 32, `FilesOpen reached ${maxOpen}`);
    assert.ok(maxFds - baseFds <= 32 + 8, `process descriptors grew by ${maxFds - baseFds}`);
    assert.is(proc.events.length, 2011);
    assert.is(new Set(proc.bodies()).size, 2011);
    assert.not.ok(proc.bodies().includes('binary'), 'default exclusions skip .gz');
    assert.is(source.counters.get('FilesTracked'), 1000);
  } finally {
    await source.stop();
    cleanup();
  }
});

test('restart resumes exactly where the committed position is', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const keys = { paths: `${dir}/*.log`, ...FAST };
  try {
    const a = join(dir, 'a.log');
    let n = 0;
    writeFileSync(a, '');
    for (let round = 0; round < 3; round++) {
      const { source } = buildSource(keys, proc, join(dir, 'state'));
      await source.start();
      for (let k = 0; k < 100; k++) appendFileSync(a, `${seq(n++)}\n`);
      await until(`${n} lines`, () => proc.events.length >= n);
      await source.stop();
      // written while stopped: read by the next start
      for (let k = 0; k < 10; k++) appendFileSync(a, `${seq(n++)}\n`);
    }
    const { source } = buildSource(keys, proc, join(dir, 'state'));
    await source.start();
    await until(`${n} lines`, () => proc.events.length >= n);
    await source.stop();
    assertExactly(proc, n);
  } finally {
    cleanup();
  }
});

test('skipToEndOnFirstStart: the first start begins at the end; later starts read new files whole', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const keys = { paths: dir + '/logs', skipToEndOnFirstStart: true, fileHeader: true, ...FAST };
  try {
    const logs = join(dir, 'logs');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'old.log'), 'before-1\nbefore-2\n');
    const first = buildSource(keys, proc, join(dir, 'state'));
    await first.source.start();
    appendFileSync(join(logs, 'old.log'), 'after-1\n');
    await until('after-1', () => proc.events.length >= 1);
    await first.source.stop();
    writeFileSync(join(logs, 'while-down.log'), 'down-1\n');
    const second = buildSource(keys, proc, join(dir, 'state'));
    await second.source.start();
    await until('down-1', () => proc.events.length >= 2);
    await second.source.stop();
    assert.equal(proc.bodies(), ['after-1', 'down-1']);
    assert.is(proc.events[1].headers.file, join(logs, 'while-down.log'));
  } finally {
    cleanup();
  }
});

test.run();
