/**
 * OldestEventAgeMs (the metric, the dashboard's "oldest", `channel inspect`) is read from put-time
 * samples. They were taken only every 256 KiB of log, so on a quiet host a channel that drained and
 * took one new line reported the age of a sample from minutes or hours before. Now the age is never
 * under the truth and less than 1 s (SAMPLE_MS) over it, live, after a restart (checkpoint or full
 * replay) and in inspect.
 *
 * The channel's clock is injected (hooks.now), so no test waits: puts are stamped in the past and the
 * clock is moved. inspect measures from the real clock, so those put times are kept at or before it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FileChannel } from '../src/channels/file/file-channel.ts';
import { inspectChannel } from '../src/channels/file/inspect.ts';
import { SAMPLE_MS } from '../src/channels/file/replay.ts';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import { Logger } from '../src/core/log.ts';
import { tempDir } from './helpers/poll.ts';

const log = new Logger({ write: () => undefined }, 'warn');
const BOUND = SAMPLE_MS; // 1 s

interface Clock {
  t: number;
}

function open(stateDir: string, clock: Clock, checkpointOnClose = true): FileChannel {
  return new FileChannel(
    { capacity: 10_000, transactionCapacity: 1000, checkpointIntervalMs: 600_000, maxFileSize: 1 << 20, minimumRequiredSpace: 0, keepAliveMs: 0, checkpointOnClose },
    { name: 'c1', log, stateDir },
    { now: () => clock.t },
  );
}

const ev = (n: number, from = 0): FlumeEvent[] => Array.from({ length: n }, (_, i) => eventOf(`line ${from + i} ${'x'.repeat(100)}`));
const age = (ch: FileChannel): number => ch.counters.get('OldestEventAgeMs');
const root = (dir: string): string => join(dir, 'channels', 'c1');

async function takeCommit(ch: FileChannel, n: number): Promise<void> {
  const t = await ch.take(n);
  assert.is(t.count, n);
  await t.commit();
}

/** The live age, with the clock at `clock.t` and the head event put at `headPut`: never under the truth, less than BOUND over. */
function assertLive(ch: FileChannel, clock: Clock, headPut: number, what: string): void {
  const truth = clock.t - headPut;
  const a = age(ch);
  assert.ok(a >= truth && a < truth + BOUND, `${what}: OldestEventAgeMs ${a}, the head event is ${truth} ms old`);
}

/** inspect, which measures from the real clock; put times are at or before it. */
async function assertInspect(dir: string, headPut: number, pending: number, what: string): Promise<void> {
  const before = Date.now();
  const r = await inspectChannel(root(dir));
  const after = Date.now();
  assert.is(r.eventsPending, pending, `${what}: events pending`);
  const a = r.oldestEventAgeMs;
  assert.ok(a !== null && a >= before - headPut && a < after - headPut + BOUND, `${what}: inspect says ${a} ms, the head event is ${before - headPut}..${after - headPut} ms old`);
}

/** Stops `ch` and starts it again on the same dirs, from the checkpoint or (without it) by a full replay. */
async function restart(ch: FileChannel, dir: string, clock: Clock, fullReplay: boolean): Promise<FileChannel> {
  await ch.stop();
  if (fullReplay) rmSync(join(ch.checkpointDir, 'checkpoint'));
  const again = open(dir, clock);
  await again.start();
  assert.is(again.counters.get('ReplayProgressPercent'), 100);
  return again;
}

test('a line put into a drained channel an hour after the last one is reported as just put (the acceptance repro)', async () => {
  const { dir, cleanup } = tempDir();
  const clock: Clock = { t: Date.now() - 3_600_000 };
  let ch = open(dir, clock);
  try {
    await ch.start();
    await ch.put(ev(1));
    await takeCommit(ch, 1);
    assert.is(age(ch), 0);
    // a quiet hour later (the channel's clock), one line
    clock.t = Date.now() - 5_000;
    const put = clock.t;
    await ch.put(ev(1, 1));
    assert.is(ch.size, 1);
    assertLive(ch, clock, put, 'just put');
    clock.t += 2_000;
    assertLive(ch, clock, put, '2 s later');
    await assertInspect(dir, put, 1, 'inspect of the running channel');

    ch = await restart(ch, dir, clock, false);
    assert.is(ch.size, 1);
    assertLive(ch, clock, put, 'after a restart from the checkpoint');
    await ch.stop();
    await assertInspect(dir, put, 1, 'inspect of the stopped channel, with its checkpoint');

    rmSync(join(ch.checkpointDir, 'checkpoint'));
    await assertInspect(dir, put, 1, 'inspect without a checkpoint (full replay)');
    ch = open(dir, clock);
    await ch.start();
    assert.is(ch.size, 1);
    assertLive(ch, clock, put, 'after a full replay');
    await takeCommit(ch, 1);
    assert.is(age(ch), 0);
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('a channel that never drains on a quiet host: the head line\'s own time, not that of the first line in its 256 KiB', async () => {
  const { dir, cleanup } = tempDir();
  const clock: Clock = { t: Date.now() - 1_000_000 };
  let ch = open(dir, clock);
  try {
    await ch.start();
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      times.push(clock.t);
      await ch.put(ev(1, i));
      clock.t += 200_000; // a line every few minutes: far less than 256 KiB in all
    }
    clock.t = Date.now() - 10_000;
    assertLive(ch, clock, times[0], 'nothing taken yet');
    await takeCommit(ch, 1);
    assertLive(ch, clock, times[1], 'one line taken');
    await takeCommit(ch, 1);
    assertLive(ch, clock, times[2], 'two lines taken');
    await assertInspect(dir, times[2], 2, 'inspect of the running channel');

    ch = await restart(ch, dir, clock, false);
    assertLive(ch, clock, times[2], 'after a restart from the checkpoint');
    ch = await restart(ch, dir, clock, true);
    assertLive(ch, clock, times[2], 'after a full replay');
    await takeCommit(ch, 1);
    assertLive(ch, clock, times[3], 'three lines taken, after a full replay');
    await ch.stop();
    await assertInspect(dir, times[3], 1, 'inspect of the stopped channel');
    rmSync(join(ch.checkpointDir, 'checkpoint'));
    await assertInspect(dir, times[3], 1, 'inspect without a checkpoint');
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('lines every 250 ms, taken one by one: the age is never under the truth nor 1 s over it, live, after restarts and in inspect', async () => {
  const { dir, cleanup } = tempDir();
  const clock: Clock = { t: Date.now() - 60_000 };
  let ch = open(dir, clock);
  const N = 40;
  try {
    await ch.start();
    const times: number[] = [];
    for (let i = 0; i < N; i++) {
      times.push(clock.t);
      await ch.put(ev(1, i));
      clock.t += 250;
    }
    // a clock stepped back 5 s: that line says it is older than the 20 before it; once it is the head
    // its age is still never under what it says (the age is the head's: log order is arrival order)
    clock.t -= 5_000;
    times.push(clock.t);
    await ch.put(ev(1, N));
    clock.t = Date.now() - 1_000;
    for (let i = 0; i <= N; i++) {
      assertLive(ch, clock, times[i], `${i} lines taken`);
      if (i === 15) await assertInspect(dir, times[i], N + 1 - i, `inspect after ${i} lines taken`);
      if (i === 20) {
        ch = await restart(ch, dir, clock, true);
        assertLive(ch, clock, times[i], `${i} lines taken, after a full replay`);
        await assertInspect(dir, times[i], N + 1 - i, `inspect after ${i} lines taken, without a checkpoint`);
      }
      if (i === 30) {
        ch = await restart(ch, dir, clock, false);
        assertLive(ch, clock, times[i], `${i} lines taken, after a restart from the checkpoint`);
      }
      await takeCommit(ch, 1);
    }
    assert.is(ch.size, 0);
    assert.is(age(ch), 0);
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('an open take reports its first line\'s put time; rolled back, the same age comes from the samples', async () => {
  const { dir, cleanup } = tempDir();
  const clock: Clock = { t: Date.now() - 100_000 };
  const ch = open(dir, clock);
  try {
    await ch.start();
    await ch.put(ev(1));
    await takeCommit(ch, 1);
    clock.t += 50_000;
    const put = clock.t;
    await ch.put(ev(3, 1));
    clock.t += 30_000;
    await ch.put(ev(1, 4));
    clock.t += 1_000;
    const t = await ch.take(2);
    assertLive(ch, clock, put, 'an open take');
    await t.rollback();
    assertLive(ch, clock, put, 'rolled back');
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('a channel drained and refilled within the second: the new line\'s own time, exactly, live and after restarts', async () => {
  const { dir, cleanup } = tempDir();
  const clock: Clock = { t: Date.now() - 10_000 };
  let ch = open(dir, clock);
  try {
    await ch.start();
    await ch.put(ev(1));
    clock.t += 10;
    await ch.put(ev(1, 1)); // sampled (the first key is 0, so a segment away from it), 10 ms after the first
    await takeCommit(ch, 2);
    clock.t += 890;
    const put = clock.t;
    await ch.put(ev(2, 2));
    clock.t += 100;
    assert.is(age(ch), 100);
    ch = await restart(ch, dir, clock, false);
    assert.is(age(ch), 100, 'from the checkpoint');
    ch = await restart(ch, dir, clock, true);
    assert.is(age(ch), 100, 'after a full replay');
    await takeCommit(ch, 1);
    assert.is(age(ch), 100, 'the second line of the same put');
    await ch.stop();
    const before = Date.now();
    const r = await inspectChannel(root(dir));
    const after = Date.now();
    // exact: measured from a moment between before and after
    assert.ok(r.oldestEventAgeMs !== null && r.oldestEventAgeMs >= before - put && r.oldestEventAgeMs <= after - put, `inspect: ${r.oldestEventAgeMs}, put ${before - put}..${after - put} ms ago`);
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('a head left at the end of a put, before Take records, and the next put after the checkpoint: its time, after a restart too', async () => {
  const { dir, cleanup } = tempDir();
  const clock: Clock = { t: Date.now() - 1_000_000 };
  let ch = open(dir, clock, false);
  try {
    await ch.start();
    await ch.put(ev(2)); // E
    await takeCommit(ch, 1); // a Take record after E
    await ch.checkpoint(); // its end is after that Take record
    clock.t += 300_000;
    const put = clock.t;
    await ch.put(ev(1, 2)); // F: E's second line is still pending
    await takeCommit(ch, 1); // E's second line: the head stays at E's end, before the Take record
    clock.t = Date.now() - 1_000;
    assertLive(ch, clock, put, 'live');
    await ch.stop(); // no checkpoint at stop: the next start replays from the one above
    await assertInspect(dir, put, 1, 'inspect from the checkpoint');
    ch = open(dir, clock, false);
    await ch.start();
    assert.is(ch.size, 1);
    assertLive(ch, clock, put, 'after a restart from the checkpoint');
  } finally {
    await ch.stop();
    cleanup();
  }
});

test.run();
