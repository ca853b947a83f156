import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PositionStore } from '../src/sources/taildir/positions.ts';
import { LINES_IN_FLIGHT, MAX_BATCH_BYTES, MAX_IN_FLIGHT, putsInFlight } from '../src/sources/taildir/source.ts';
import { FakeProcessor, buildSource, FAST } from './taildir.harness.ts';
import { tempDir, until } from './helpers/poll.ts';

test('reads a position file written by Apache Flume', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const p = join(dir, 'taildir_position.json');
    writeFileSync(p, '[{"inode":2496,"pos":1024,"file":"/var/log/app.log"},{"inode":2497,"pos":0,"file":"/var/log/b.log"}]');
    const got = await new PositionStore(p).load();
    assert.is(got.existed, true);
    assert.equal(got.entries, [{ inode: 2496, pos: 1024, file: '/var/log/app.log' }, { inode: 2497, pos: 0, file: '/var/log/b.log' }]);
    writeFileSync(p, '');
    assert.equal(await new PositionStore(p).load(), { existed: true, entries: [] });
  } finally {
    cleanup();
  }
});

test('a missing file is a first start; a corrupt one is reported, not fatal', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const p = join(dir, 'pos.json');
    assert.equal(await new PositionStore(p).load(), { existed: false, entries: [] });
    writeFileSync(p, '[{"inode":1,"pos":');
    const got = await new PositionStore(p).load();
    assert.is(got.existed, true);
    assert.equal(got.entries, []);
    assert.match(got.problem ?? '', /not valid JSON/);
  } finally {
    cleanup();
  }
});

test('saves atomically in Flume order (inode, pos, file first) and leaves no temp file', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const p = join(dir, 'sub', 'pos.json');
    const store = new PositionStore(p);
    await store.save([{ fp: 'ab', inode: 7, file: '/x', pos: 3, dev: 1, fpLen: 2 }]);
    assert.is(readFileSync(p, 'utf8'), '[{"inode":7,"pos":3,"file":"/x","dev":1,"fp":"ab","fpLen":2}]');
    assert.not.ok(existsSync(`${p}.tmp`));
  } finally {
    cleanup();
  }
});

test('recent positions: taken at load while there and whole, removed by the next durable write; cut, the durable file is used', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const p = join(dir, 'pos.json');
    const store = new PositionStore(p);
    await store.save([{ inode: 7, pos: 3, file: '/x' }]);
    await store.saveRecent([{ inode: 7, pos: 90, file: '/x' }]);
    assert.is(readFileSync(p, 'utf8'), '[{"inode":7,"pos":3,"file":"/x"}]', 'the durable file is not touched');
    assert.equal((await new PositionStore(p).load()).entries, [{ inode: 7, pos: 90, file: '/x' }]);
    assert.not.ok(existsSync(`${store.recentPath}.tmp`));
    // a durable write is the newest: the recent file goes
    await store.save([{ inode: 7, pos: 120, file: '/x' }]);
    assert.not.ok(existsSync(store.recentPath));
    assert.equal((await new PositionStore(p).load()).entries, [{ inode: 7, pos: 120, file: '/x' }]);
    // a recent file cut short (a power loss before the page cache reached the disk) is not used
    await store.saveRecent([{ inode: 7, pos: 150, file: '/x' }]);
    const whole = readFileSync(store.recentPath, 'utf8');
    writeFileSync(store.recentPath, whole.slice(0, -20));
    assert.equal((await new PositionStore(p).load()).entries, [{ inode: 7, pos: 120, file: '/x' }]);
    // nor one that follows another durable file: written since by Apache Flume (or an operator), or removed
    writeFileSync(store.recentPath, whole);
    assert.equal((await new PositionStore(p).load()).entries, [{ inode: 7, pos: 150, file: '/x' }]);
    writeFileSync(p, '[{"inode":7,"pos":130,"file":"/x"}]');
    assert.equal((await new PositionStore(p).load()).entries, [{ inode: 7, pos: 130, file: '/x' }]);
    rmSync(p);
    assert.equal(await new PositionStore(p).load(), { existed: false, entries: [] });
  } finally {
    cleanup();
  }
});

test('the source resumes from a Flume-written entry when inode and path match', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const log = join(dir, 'app.log');
    writeFileSync(log, 'old1\nold2\nnew1\n');
    const pos = join(dir, 'pos.json');
    writeFileSync(pos, JSON.stringify([{ inode: statSync(log).ino, pos: 10, file: log }]));
    const proc = new FakeProcessor();
    const { source } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log'), positionFile: pos, ...FAST }, proc, dir);
    await source.start();
    await until('the line after the position', () => proc.events.length >= 1);
    await source.stop();
    assert.equal(proc.bodies(), ['new1']);
    const saved = JSON.parse(readFileSync(pos, 'utf8'));
    assert.is(saved[0].pos, 15);
    assert.is(saved[0].inode, statSync(log).ino);
  } finally {
    cleanup();
  }
});

test('positions move only after the channel committed; a full channel pauses reading and it resumes by itself', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const log = join(dir, 'app.log');
    writeFileSync(log, Array.from({ length: 50 }, (_, i) => `l${i}\n`).join(''));
    const proc = new FakeProcessor();
    proc.full = true;
    const { source } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log'), batchSize: 10, ...FAST }, proc, dir);
    await source.start();
    await until('refused puts', () => proc.refused >= 3);
    const refusedCalls = proc.calls;
    await new Promise((r) => setTimeout(r, 100));
    // paused: only the one failing batch is retried, no new batches are read and put
    assert.ok(proc.calls - refusedCalls <= 4, `calls grew from ${refusedCalls} to ${proc.calls}`);
    const pos = JSON.parse(readFileSync(source.positionFile, 'utf8'));
    assert.is(pos[0].pos, 0);
    assert.ok(source.counters.get('ChannelWriteFail') >= 3);
    proc.full = false;
    await until('all lines', () => proc.events.length === 50);
    await until('position written', () => JSON.parse(readFileSync(source.positionFile, 'utf8'))[0].pos === statSync(log).size);
    await source.stop();
    assert.equal(new Set(proc.bodies()).size, 50);
    assert.is(source.counters.get('EventAcceptedCount'), 50);
  } finally {
    cleanup();
  }
});

test('a commit made while the loop sleeps reaches the recent positions within tens of ms, not at its next round', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  proc.delayMs = 2500; // the put commits after the file stopped being hot: the loop is in a long idle sleep
  const pos = join(dir, 'pos.json');
  const { source } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log'), positionFile: pos, maxBackoffSleep: 5000, writePosInterval: 600000 }, proc, dir);
  try {
    const log = join(dir, 'app.log');
    writeFileSync(log, 'one\ntwo\n');
    await source.start();
    await until('committed', () => proc.events.length === 2, 5_000, 5);
    const committedAt = Date.now();
    await until('the recent positions at the end', () => {
      try {
        return (JSON.parse(readFileSync(`${pos}.recent`, 'utf8')) as { entries: { pos: number }[] }).entries[0]?.pos === 8;
      } catch {
        return false;
      }
    }, 2_000, 5);
    assert.ok(Date.now() - committedAt < 1000, `${Date.now() - committedAt} ms after the commit`);
  } finally {
    await source.stop();
    cleanup();
  }
});

test('a backlog is put with MAX_IN_FLIGHT batches in flight, never more, and its saved position never passes a batch not yet committed', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  // a slow channel whose puts commit out of order: without the cap every batch would be in flight at once
  proc.delay = () => 20 + Math.floor(Math.random() * 100);
  const pos = join(dir, 'pos.json');
  const log = join(dir, 'app.log');
  const lines = Array.from({ length: 40 * MAX_IN_FLIGHT }, (_, i) => `line ${i}`);
  writeFileSync(log, lines.map((l) => `${l}\n`).join(''));
  const ends: number[] = [];
  for (const l of lines) ends.push((ends.at(-1) ?? 0) + l.length + 1);
  // the saved position (the recent file, else the durable one), whenever it can be read whole
  const saved = (): number | undefined => {
    for (const [path, list] of [[`${pos}.recent`, (j: { entries: { pos: number }[] }) => j.entries], [pos, (j: { pos: number }[]) => j]] as const) {
      try {
        return (list as (j: unknown) => { pos: number }[])(JSON.parse(readFileSync(path, 'utf8')))[0]?.pos;
      } catch {
        // not there yet, or replaced while read: try the other
      }
    }
    return undefined;
  };
  const { source } = buildSource({ ...FAST, filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log'), positionFile: pos, batchSize: 10 }, proc, dir);
  const passed: string[] = [];
  let checks = 0;
  try {
    await source.start();
    await until('the whole backlog committed', () => {
      const p = saved();
      if (p !== undefined && p > 0) {
        // committed only grows: what was committed when the position was saved is still there now
        const committed = new Set(proc.bodies());
        const upTo = ends.findIndex((e) => e > p);
        const missing = lines.slice(0, upTo < 0 ? lines.length : upTo).filter((l) => !committed.has(l));
        if (missing.length) passed.push(`position ${p} with ${missing.length} lines before it not committed, first ${missing[0]}`);
        checks++;
      }
      return proc.events.length === lines.length;
    }, 20_000, 2);
    assert.is(proc.maxInFlight, MAX_IN_FLIGHT);
    assert.equal([...proc.bodies()].sort(), [...lines].sort());
    assert.equal(passed, []);
    assert.ok(checks > 0);
    await source.stop();
    assert.is((JSON.parse(readFileSync(pos, 'utf8')) as { pos: number }[])[0].pos, statSync(log).size);
  } finally {
    await source.stop();
    cleanup();
  }
});

test('larger batches get fewer puts in flight: the lines in flight stay at LINES_IN_FLIGHT, and never fewer than two puts', async () => {
  assert.is(putsInFlight(100), MAX_IN_FLIGHT);
  assert.is(putsInFlight(1000), MAX_IN_FLIGHT);
  assert.is(putsInFlight(2000), MAX_IN_FLIGHT / 2);
  assert.is(putsInFlight(LINES_IN_FLIGHT), 2);
  assert.is(putsInFlight(1_000_000), 2);
  assert.is(putsInFlight(Number.NaN), MAX_IN_FLIGHT);
  // the source uses it: a backlog of 2000-line batches through a slow channel never has more than half as many in flight
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor(2000);
  proc.delay = () => 30;
  const log = join(dir, 'app.log');
  const lines = Array.from({ length: 2000 * (MAX_IN_FLIGHT + 4) }, (_, i) => `l${i}`);
  writeFileSync(log, lines.map((l) => `${l}\n`).join(''));
  const { source } = buildSource({ ...FAST, filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log'), positionFile: join(dir, 'pos.json'), batchSize: 2000 }, proc, dir);
  try {
    await source.start();
    await until('the whole backlog committed', () => proc.events.length === lines.length, 20_000);
    assert.is(proc.maxInFlight, MAX_IN_FLIGHT / 2);
    assert.is(proc.largest, 2000);
  } finally {
    await source.stop();
    cleanup();
  }
  // batches as large as the channels take, not as configured: 2000 configured into channels that take 1000 at a time
  const small = tempDir();
  const proc1000 = new FakeProcessor(1000);
  proc1000.delay = () => 30;
  writeFileSync(join(small.dir, 'app.log'), lines.map((l) => `${l}\n`).join(''));
  const built = buildSource({ ...FAST, filegroups: 'g', 'filegroups.g': join(small.dir, 'app\\.log'), positionFile: join(small.dir, 'pos.json'), batchSize: 2000 }, proc1000, small.dir);
  try {
    await built.source.start();
    await until('the whole backlog committed', () => proc1000.events.length === lines.length, 20_000);
    assert.is(proc1000.maxInFlight, MAX_IN_FLIGHT);
    assert.is(proc1000.largest, 1000);
  } finally {
    await built.source.stop();
    small.cleanup();
  }
});

test('a batch of long lines ends at MAX_BATCH_BYTES, not at batchSize lines', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor(2000);
  const log = join(dir, 'app.log');
  // 8 KB lines: 2000 of them would be 16 MB a batch
  const lines = Array.from({ length: 400 }, (_, i) => `${String(i).padStart(4, '0')} ${'y'.repeat(8186)}`);
  writeFileSync(log, lines.map((l) => `${l}\n`).join(''));
  const { source } = buildSource({ ...FAST, filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log'), positionFile: join(dir, 'pos.json'), batchSize: 2000 }, proc, dir);
  try {
    await source.start();
    await until('the whole backlog committed', () => proc.events.length === lines.length, 20_000);
    assert.is(proc.largest, Math.ceil(MAX_BATCH_BYTES / 8192));
    assert.equal(proc.events.map((e) => Buffer.from(e.body).toString()), lines);
  } finally {
    await source.stop();
    cleanup();
  }
});

test.run();
