// copytruncate's copy in the tailed paths: known by its bytes, its lines are not sent a second time
// (src/sources/taildir/copies.ts), and a file that only looks like a copy loses nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, copyFileSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeProcessor, buildSource, FAST } from './taildir.harness.ts';
import type { TaildirSource } from '../src/sources/taildir/source.ts';
import { tempDir, until } from './helpers/poll.ts';

// 60-byte lines: 20 of them make more than the kilobyte a copy is judged by
const line = (i: number): string => `seq-${String(i).padStart(6, '0')} ${'x'.repeat(48)}`;
const lines = (from: number, to: number): string => Array.from({ length: to - from }, (_, k) => `${line(from + k)}\n`).join('');

/** Every line in [0, n) delivered exactly once. */
function assertOnce(proc: FakeProcessor, n: number): void {
  const counts = new Map<string, number>();
  for (const b of proc.bodies()) counts.set(b, (counts.get(b) ?? 0) + 1);
  const dups = [...counts].filter(([, c]) => c > 1).map(([b]) => b.slice(0, 10));
  const missing = Array.from({ length: n }, (_, i) => line(i)).filter((s) => !counts.has(s)).map((b) => b.slice(0, 10));
  assert.equal(dups, [], 'duplicates');
  assert.equal(missing, [], 'missing');
  assert.is(proc.events.length, n);
}

const keys = (dir: string) => ({ filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log.*'), ...FAST });

test('copytruncate, the copy in the paths: copy and truncate at once, four times; every line once', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source, logs } = buildSource(keys(dir), proc, dir);
  try {
    const live = join(dir, 'app.log');
    writeFileSync(live, '');
    await source.start();
    let n = 0;
    for (let round = 1; round <= 4; round++) {
      appendFileSync(live, lines(n, n + 30));
      n += 30;
      await until(`${n} lines`, () => proc.events.length >= n);
      copyFileSync(live, join(dir, `app.log.${round}`));
      truncateSync(live, 0);
      appendFileSync(live, lines(n, n + 3));
      n += 3;
      await until(`${n} lines`, () => proc.events.length >= n);
    }
    // the copies were looked at and found to hold nothing new
    await until('four copies judged', () => logs.filter((l) => /is a copy of/.test(l)).length === 4);
    assertOnce(proc, n);
    // each copy held the file's lines since the last truncation: 30, then 3 + 30 three times
    assert.is(source.counters.get('CopyBytesSkipped'), (30 + 3 * 33) * 60);
  } finally {
    await source.stop();
    cleanup();
  }
});

test('copytruncate, the copy found first: held while the original is read on, then read from where it ended', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source, logs } = buildSource(keys(dir), proc, dir);
  try {
    const live = join(dir, 'app.log');
    writeFileSync(live, lines(0, 40));
    await source.start();
    await until('40 lines', () => proc.events.length >= 40);
    copyFileSync(live, join(dir, 'app.log.1'));
    await until('the copy held', () => logs.some((l) => /app\.log\.1 repeats the bytes of .*app\.log/.test(l)));
    // the writer goes on before the truncation: read from the original, not the copy
    appendFileSync(live, lines(40, 45));
    await until('45 lines', () => proc.events.length >= 45);
    truncateSync(live, 0);
    appendFileSync(live, lines(45, 50));
    await until('50 lines', () => proc.events.length >= 50);
    await until('the copy handed over', () => logs.some((l) => /app\.log\.1 is a copy of/.test(l)));
    assertOnce(proc, 50);
  } finally {
    await source.stop();
    cleanup();
  }
});

test('copytruncate while the agent was stopped: the copy is read on from the position, its unread lines once', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  try {
    const live = join(dir, 'app.log');
    writeFileSync(live, lines(0, 40));
    const first = buildSource(keys(dir), proc, dir);
    await first.source.start();
    await until('40 lines', () => proc.events.length >= 40);
    await first.source.stop();
    // a start and stop with nothing new to read: the mark of the resumed position is kept
    const idle = buildSource(keys(dir), proc, dir);
    await idle.source.start();
    await until('the idle run listed the file', () => idle.logs.some((l) => /tracking .*app\.log /.test(l)));
    await idle.source.stop();
    // the position file carries the mark of the bytes before the position
    const saved = JSON.parse(readFileSync(join(dir, 'taildir', 'r1.positions.json'), 'utf8')) as { pos: number; mark?: number }[];
    assert.ok(saved.some((e) => e.pos === 40 * 60 && typeof e.mark === 'number'), JSON.stringify(saved));
    // while stopped: 20 more lines, then logrotate's copytruncate, then the writer goes on in the emptied file
    appendFileSync(live, lines(40, 60));
    copyFileSync(live, join(dir, 'app.log.1'));
    truncateSync(live, 0);
    appendFileSync(live, lines(60, 65));
    const again = buildSource(keys(dir), proc, dir);
    await again.source.start();
    try {
      await until('65 lines', () => proc.events.length >= 65);
      await until('the copy read on', () => again.logs.some((l) => /app\.log\.1 is a copy of .*app\.log, whose first 2400 bytes/.test(l)));
      assertOnce(proc, 65);
    } finally {
      await again.source.stop();
    }
  } finally {
    cleanup();
  }
});

test('a file that only starts like another (the same first kilobyte) is read whole; so is a copy that goes on by itself', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source, logs } = buildSource(keys(dir), proc, dir);
  try {
    const banner = lines(0, 30); // both logs open with the same 1,800 bytes
    writeFileSync(join(dir, 'app.log'), banner + lines(30, 40));
    await source.start();
    await until('40 lines', () => proc.events.length >= 40);
    writeFileSync(join(dir, 'app.log.b'), banner + lines(100, 110));
    await until('the second file read whole', () => proc.events.length >= 80);
    // a true copy, held, then written to on its own: read from its start (its first 40 lines again, nothing lost)
    copyFileSync(join(dir, 'app.log'), join(dir, 'app.log.c'));
    await until('the copy held', () => logs.some((l) => /app\.log\.c repeats the bytes/.test(l)));
    appendFileSync(join(dir, 'app.log.c'), lines(200, 205));
    await until('the copy read whole', () => proc.events.length >= 125);
    assert.ok(logs.some((l) => /app\.log\.c no longer repeats/.test(l)));
    const bodies = proc.bodies();
    const count = (i: number): number => bodies.filter((b) => b === line(i)).length;
    for (let i = 0; i < 30; i++) assert.is(count(i), 3, `banner line ${i}`);
    for (let i = 30; i < 40; i++) assert.is(count(i), 2, `app.log line ${i}`);
    for (let i = 100; i < 110; i++) assert.is(count(i), 1, `app.log.b line ${i}`);
    for (let i = 200; i < 205; i++) assert.is(count(i), 1, `app.log.c line ${i}`);
    assert.is(proc.events.length, 125);
  } finally {
    await source.stop();
    cleanup();
  }
});

/**
 * app.log (a 30-line banner and 10 lines) read, then app.log.b, another instance's log that so far holds only the
 * same banner, held as its copy; `then` goes on from there.
 */
async function lookAlikeHeld(then: (dir: string, proc: FakeProcessor, source: TaildirSource) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source, logs } = buildSource(keys(dir), proc, dir);
  try {
    const banner = lines(0, 30);
    writeFileSync(join(dir, 'app.log'), banner + lines(30, 40));
    await source.start();
    await until('40 lines', () => proc.events.length >= 40);
    writeFileSync(join(dir, 'app.log.b'), banner);
    await until('held', () => logs.some((l) => /app\.log\.b repeats the bytes/.test(l)));
    await then(dir, proc, source);
  } finally {
    await source.stop();
    cleanup();
  }
}

test('a held "copy" that goes on with lines of its own as its original is truncated: its own lines all arrive', async () => {
  await lookAlikeHeld(async (dir, proc) => {
    // its own lines, and the original truncated before the copy is looked at again
    appendFileSync(join(dir, 'app.log.b'), lines(100, 110));
    truncateSync(join(dir, 'app.log'), 0);
    appendFileSync(join(dir, 'app.log'), lines(40, 45));
    await until('the own lines of app.log.b', () => proc.events.length >= 55);
    const bodies = proc.bodies();
    for (let i = 100; i < 110; i++) assert.is(bodies.filter((b) => b === line(i)).length, 1, `app.log.b line ${i}`);
    for (let i = 30; i < 45; i++) assert.is(bodies.filter((b) => b === line(i)).length, 1, `app.log line ${i}`);
  });
});

test('an idle-closed original is opened to compare a copy made slowly: held, then read on from where the original ended', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  // Flume's own pace of looking at files (a second), not the tests' fast one: the copy is judged before the
  // original's truncation is seen by the periodic check, so the judging must look at the closed original itself
  const { source, logs } = buildSource({ ...keys(dir), idleTimeout: 100, backoffSleepIncrement: 1000, maxBackoffSleep: 5000 }, proc, dir);
  try {
    const live = join(dir, 'app.log');
    writeFileSync(live, lines(0, 400));
    await source.start();
    await until('400 lines', () => proc.events.length >= 400);
    await until('app.log closed while idle', () => (source.counters.get('FilesOpen') as number) === 0);
    // the copy's first 8 KiB, then the rest, then the truncation
    const all = readFileSync(live);
    writeFileSync(join(dir, 'app.log.1'), all.subarray(0, 8192));
    await until('held', () => logs.some((l) => /app\.log\.1 repeats the bytes/.test(l)));
    appendFileSync(join(dir, 'app.log.1'), all.subarray(8192));
    truncateSync(live, 0);
    appendFileSync(live, lines(400, 405));
    await until('405 lines', () => proc.events.length >= 405);
    await until('handed over', () => logs.some((l) => /app\.log\.1 is a copy of/.test(l)));
    assertOnce(proc, 405);
  } finally {
    await source.stop();
    cleanup();
  }
});

test('a held look-alike that writes lines of its own and is deleted while reading is paused (channel full): its lines arrive', async () => {
  await lookAlikeHeld(async (dir, proc, source) => {
    // the channel refuses: reading pauses, housekeeping goes on
    proc.full = true;
    appendFileSync(join(dir, 'app.log'), lines(40, 41));
    await until('a put refused', () => proc.refused > 0);
    appendFileSync(join(dir, 'app.log.b'), lines(100, 110));
    unlinkSync(join(dir, 'app.log.b'));
    // retries at backoffSleepIncrement while the file checks (which see the deletion) and housekeeping go on
    await until('reading paused a while', () => proc.refused >= 5);
    proc.full = false;
    await until('the own lines of app.log.b', () => proc.bodies().filter((b) => b.startsWith('seq-0001')).length === 10);
    assert.is(source.counters.get('BytesAbandoned'), 0);
  });
});

test('a copy whose original is not truncated (a backup) is read from its start once the copy window passes', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source, logs } = buildSource(keys(dir), proc, dir, 'r1', { copyWindowMs: 300 });
  try {
    writeFileSync(join(dir, 'app.log'), lines(0, 40));
    await source.start();
    await until('40 lines', () => proc.events.length >= 40);
    copyFileSync(join(dir, 'app.log'), join(dir, 'app.log.bak'));
    await until('held', () => logs.some((l) => /app\.log\.bak repeats the bytes/.test(l)));
    assert.is(proc.events.length, 40);
    await until('read as a file of its own', () => proc.events.length >= 80);
    assert.ok(logs.some((l) => /app\.log\.bak repeats .*app\.log, which was not truncated within 0\.3 s/.test(l)));
    const bodies = proc.bodies();
    for (let i = 0; i < 40; i++) assert.is(bodies.filter((b) => b === line(i)).length, 2, `line ${i}`);
  } finally {
    await source.stop();
    cleanup();
  }
});

test.run();
