import { appendFileSync, linkSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir, until } from './helpers/poll.ts';
import { buildSource, FakeProcessor } from './taildir.harness.ts';
import type { TaildirSource } from '../src/sources/taildir/source.ts';

/** Appends lines `from`..`to` to `path` one at a time, each waited for; returns how long each took to be read. */
async function appendLags(proc: FakeProcessor, path: string, from: number, to: number, timeoutMs: number): Promise<number[]> {
  const lags: number[] = [];
  for (let i = from; i <= to; i++) {
    const t0 = performance.now();
    appendFileSync(path, `line ${i}\n`);
    await until(`line ${i}`, () => proc.events.length === i + 1, timeoutMs, 2);
    lags.push(performance.now() - t0);
  }
  return lags;
}

/**
 * A source for `dir/app.log` alone (a file group), with a long idle sleep: only a watch event can make it read
 * quickly. Started, its first line (`line 0`) read.
 */
async function startOnAppLog(dir: string, proc: FakeProcessor): Promise<{ source: TaildirSource; live: string }> {
  const { source } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log'), backoffSleepIncrement: 5000, maxBackoffSleep: 5000, writePosInterval: 1000 }, proc, dir);
  const live = join(dir, 'app.log');
  writeFileSync(live, 'line 0\n');
  await source.start();
  await until('first line', () => proc.events.length === 1);
  return { source, live };
}

test('appends written every few ms are each read at once, not after the idle sleep', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source, live } = await startOnAppLog(dir, proc);
  try {
    const lags = await appendLags(proc, live, 1, 40, 6000);
    lags.sort((a, b) => a - b);
    const worst = lags[lags.length - 1];
    // a watch that missed or dropped them (chokidar's dropped a path's events for 50 ms after each) leaves them to the 5 s idle sleep
    assert.ok(worst < 1000, `slowest append took ${worst.toFixed(1)} ms to be read`);
    assert.equal(proc.bodies(), Array.from({ length: 41 }, (_, i) => `line ${i}`));
  } finally {
    await source.stop();
    cleanup();
  }
});

test('an append no watch reports is read after a short sleep while the file is hot, not after the idle sleep', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  mkdirSync(join(dir, 'logs'));
  mkdirSync(join(dir, 'elsewhere'));
  const live = join(dir, 'logs', 'app.log');
  const link = join(dir, 'elsewhere', 'app.log');
  const { source } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'logs', 'app\\.log'), backoffSleepIncrement: 5000, maxBackoffSleep: 5000, writePosInterval: 1000 }, proc, dir);
  // Appends go through a hard link in another directory, which the directory watch does not see: no event at
  // all, as when inotify has no watches left, or a runtime drops an event.
  try {
    writeFileSync(live, 'line 0\n');
    linkSync(live, link);
    await source.start();
    await until('first line', () => proc.events.length === 1);
    const lags = await appendLags(proc, link, 1, 5, 8000);
    // without the short sleeps of a hot file, each waited out the 5 s idle sleep
    assert.ok(Math.max(...lags) < 1000, `appends took ${lags.map((l) => l.toFixed(0)).join(', ')} ms to be read`);
    assert.equal(proc.bodies(), Array.from({ length: 6 }, (_, i) => `line ${i}`));
  } finally {
    await source.stop();
    cleanup();
  }
});

test('a writer appending a line every millisecond is read in rounds about 10 ms apart, not one round per line or two', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source } = buildSource({ filegroups: 'g', 'filegroups.g': join(dir, 'app\\.log'), writePosInterval: 1000 }, proc, dir);
  try {
    const live = join(dir, 'app.log');
    writeFileSync(live, '');
    await source.start();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 1500) {
      appendFileSync(live, `line ${n++}\n`);
      await new Promise((r) => setTimeout(r, 1));
    }
    const ms = performance.now() - t0;
    await until(() => `all ${n} lines (have ${proc.events.length})`, () => proc.events.length === n, 5000);
    // each round is a put and a sync: with a 2 ms linger they came every 2-3 ms, a line or two each
    const gap = ms / proc.calls;
    assert.ok(gap >= 6, `${proc.calls} rounds for ${n} lines in ${ms.toFixed(0)} ms: one every ${gap.toFixed(1)} ms`);
    assert.equal(proc.bodies(), Array.from({ length: n }, (_, i) => `line ${i}`));
  } finally {
    await source.stop();
    cleanup();
  }
});

test('appends to a file renamed out of the paths are read at once, not after the idle sleep', async () => {
  const { dir, cleanup } = tempDir();
  const proc = new FakeProcessor();
  const { source, live } = await startOnAppLog(dir, proc);
  try {
    renameSync(live, join(dir, 'app.log.1'));
    writeFileSync(live, '');
    // The application still writes to the renamed file now and then, until it reopens its log. Each append comes
    // 4 s after the last activity, past the 2 s a file stays hot (short sleeps) and into the 5 s idle sleep: the
    // watch reports it under a name no listing has, and the source must still wake for it.
    const lags: number[] = [];
    for (let i = 1; i <= 2; i++) {
      await new Promise((r) => setTimeout(r, 4000));
      lags.push(...(await appendLags(proc, join(dir, 'app.log.1'), i, i, 8000)));
    }
    assert.ok(Math.max(...lags) < 1000, `appends to the renamed file took ${lags.map((l) => l.toFixed(0)).join(', ')} ms to be read`);
  } finally {
    await source.stop();
    cleanup();
  }
});

test.run();
