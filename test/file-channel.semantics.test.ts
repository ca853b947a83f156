import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FileChannel, type FileChannelOptions } from '../src/channels/file/file-channel.ts';
import { ChannelLockedError } from '../src/channels/file/lock.ts';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import { Logger } from '../src/core/log.ts';
import { tempDir } from './helpers/poll.ts';
import { assertFlumeTakeAttempts } from './helpers/take-attempts.ts';

const lines: string[] = [];
const log = new Logger({ write: (l) => lines.push(l) }, 'debug');

function open(stateDir: string, o: Partial<FileChannelOptions> = {}, hooks = {}): FileChannel {
  return new FileChannel(
    { capacity: 1000, transactionCapacity: 100, checkpointIntervalMs: 60_000, maxFileSize: 1 << 20, minimumRequiredSpace: 0, keepAliveMs: 0, checkpointOnClose: true, ...o },
    { name: 'c1', log, stateDir },
    hooks,
  );
}

type Err = Error & { code?: string };
async function rejects(f: () => Promise<unknown>, ok: (e: Err) => boolean): Promise<void> {
  try {
    await f();
  } catch (err) {
    assert.ok(ok(err as Err), `unexpected error: ${(err as Error).message}`);
    return;
  }
  assert.unreachable('expected a rejection');
}

const ev = (from: number, n: number): FlumeEvent[] => Array.from({ length: n }, (_, i) => eventOf(`event ${from + i}`, { n: String(from + i) }));
const text = (es: FlumeEvent[]): string[] => es.map((e) => Buffer.from(e.body).toString());

test('dirs default under <stateDir>/channels/<name>/ and put → take → commit empties the channel', async () => {
  const { dir, cleanup } = tempDir();
  const ch = open(dir);
  try {
    assert.is(ch.checkpointDir, join(dir, 'channels', 'c1', 'checkpoint'));
    assert.equal(ch.dataDirs, [join(dir, 'channels', 'c1', 'data')]);
    await ch.start();
    assert.ok(existsSync(join(ch.dataDirs[0], 'in_use.lock')));
    const empty = await ch.take(10);
    assert.is(empty.events.length, 0);
    await ch.put(ev(0, 5));
    assert.is(ch.size, 5);
    const t = await ch.take(3);
    assert.equal(text(t.events), ['event 0', 'event 1', 'event 2']);
    assert.equal(t.events[1].headers, { n: '1' });
    await t.commit();
    assert.is(ch.size, 2);
    const t2 = await ch.take(10);
    assert.equal(text(t2.events), ['event 3', 'event 4']);
    await t2.commit();
    assert.is(ch.size, 0);
    assert.is(ch.counters.get('EventPutSuccessCount'), 5);
    assert.is(ch.counters.get('EventTakeSuccessCount'), 5);
    assert.ok(ch.counters.get('FsyncLatencyP50Us') > 0);
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('rollback returns events ahead of anything not yet taken, in order, with concurrent takes', async () => {
  const { dir, cleanup } = tempDir();
  const ch = open(dir);
  try {
    await ch.start();
    await ch.put(ev(0, 10));
    const [a, b] = await Promise.all([ch.take(3), ch.take(3)]);
    assert.equal(text(a.events), ['event 0', 'event 1', 'event 2']);
    assert.equal(text(b.events), ['event 3', 'event 4', 'event 5']);
    await b.rollback();
    await a.rollback();
    const c = await ch.take(100);
    assert.equal(text(c.events), ev(0, 10).map((e) => Buffer.from(e.body).toString()));
    await c.rollback();
    const d = await ch.take(4);
    await d.commit();
    const e = await ch.take(100);
    assert.equal(text(e.events), ['event 4', 'event 5', 'event 6', 'event 7', 'event 8', 'event 9']);
    await e.commit();
    assert.is(ch.size, 0);
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('restart: committed takes are gone, uncommitted takes come back in order at the head', async () => {
  const { dir, cleanup } = tempDir();
  try {
    for (const checkpointOnClose of [true, false]) {
      const sub = join(dir, String(checkpointOnClose));
      const ch = open(sub, { checkpointOnClose });
      await ch.start();
      await ch.put(ev(0, 10));
      await ch.put(ev(10, 10));
      const a = await ch.take(5); // 0-4: committed
      const b = await ch.take(5); // 5-9: left open
      const c = await ch.take(5); // 10-14: committed out of order
      await c.commit();
      await a.commit();
      assert.is(b.events.length, 5);
      await ch.stop();
      const again = open(sub, { checkpointOnClose });
      await again.start();
      assert.is(again.size, 10, `size after restart (checkpointOnClose=${checkpointOnClose})`);
      const t = await again.take(100);
      assert.equal(text(t.events), [5, 6, 7, 8, 9, 15, 16, 17, 18, 19].map((i) => `event ${i}`));
      await t.commit();
      await again.stop();
    }
  } finally {
    cleanup();
  }
});

test('a put larger than transactionCapacity is refused; a full channel waits keep-alive then throws ChannelFullError', async () => {
  const { dir, cleanup } = tempDir();
  const ch = open(dir, { capacity: 10, transactionCapacity: 10, keepAliveMs: 200 });
  try {
    await ch.start();
    await rejects(() => ch.put(ev(0, 11)), (e) => e.code === 'TRANSACTION_TOO_LARGE');
    await ch.put(ev(0, 8));
    const t0 = Date.now();
    await rejects(() => ch.put(ev(8, 3)), (e) => e.code === 'CHANNEL_FULL');
    assert.ok(Date.now() - t0 >= 150, 'waited keep-alive');
    // room made while a put waits lets it through
    const waiting = ch.put(ev(8, 3));
    const t = await ch.take(2);
    await t.commit();
    await waiting;
    assert.is(ch.size, 9);
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('free disk space under minimumRequiredSpace refuses puts with ChannelFullError; takes still work', async () => {
  const { dir, cleanup } = tempDir();
  let free = 10 * 2 ** 30;
  const ch = open(dir, { minimumRequiredSpace: 2 ** 30 }, { freeBytes: () => free });
  try {
    await ch.start();
    await ch.put(ev(0, 2));
    free = 100 << 20;
    await new Promise((r) => setTimeout(r, 1100)); // the check runs at most once a second
    await rejects(() => ch.put(ev(2, 1)), (e) => e.code === 'CHANNEL_FULL' && /minimumRequiredSpace/.test(e.message));
    const t = await ch.take(10);
    assert.is(t.events.length, 2);
    await t.commit();
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('real statfs: a minimumRequiredSpace above the free space refuses puts', async () => {
  const { dir, cleanup } = tempDir();
  const ch = open(dir, { minimumRequiredSpace: Number.MAX_SAFE_INTEGER });
  try {
    await ch.start();
    await rejects(() => ch.put(ev(0, 1)), (e) => e.code === 'CHANNEL_FULL');
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('a second channel on the same dirs is refused with the holder pid; a stale lock is taken over', async () => {
  const { dir, cleanup } = tempDir();
  const a = open(dir);
  try {
    await a.start();
    const b = open(dir);
    await rejects(() => b.start(), (e) => e instanceof ChannelLockedError && e.message.includes(String(process.pid)) && e.message.includes(dir));
    await b.stop();
    await a.put(ev(0, 1));
    await a.stop();
    // a lock left by a dead process
    const { writeFileSync } = await import('node:fs');
    const { hostname } = await import('node:os');
    writeFileSync(join(a.dataDirs[0], 'in_use.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
    const c = open(dir);
    await c.start();
    assert.is(c.size, 1);
    await c.stop();
    assert.ok(lines.some((l) => l.includes('stale lock')));
  } finally {
    cleanup();
  }
});

test('waitForEvents resolves when a put lands, not only at the timeout', async () => {
  const { dir, cleanup } = tempDir();
  const ch = open(dir);
  try {
    await ch.start();
    const t0 = Date.now();
    const w = ch.waitForEvents(5000);
    setTimeout(() => void ch.put(ev(0, 1)), 50);
    await w;
    assert.ok(Date.now() - t0 < 2000);
    const t1 = Date.now();
    await ch.waitForEvents(5000); // events present: at once
    assert.ok(Date.now() - t1 < 100);
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('concurrent puts share fsyncs (group commit) and every put is durable and in the log', async () => {
  const { dir, cleanup } = tempDir();
  const ch = open(dir, { capacity: 100_000 });
  try {
    await ch.start();
    await Promise.all(Array.from({ length: 200 }, (_, i) => ch.put(ev(i * 10, 10))));
    assert.is(ch.size, 2000);
    assert.ok(ch.counters.get('CommitsPerFsync') > 1, `commits per fsync ${ch.counters.get('CommitsPerFsync')}`);
    const seen = new Set<string>();
    for (;;) {
      const t = await ch.take(100);
      if (!t.events.length) break;
      for (const e of t.events) seen.add(Buffer.from(e.body).toString());
      await t.commit();
    }
    assert.is(seen.size, 2000);
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('metrics: oldest pending event age, bytes on disk, fill, and replay progress in the log', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ch = open(dir);
    await ch.start();
    assert.is(ch.counters.get('OldestEventAgeMs'), 0);
    await ch.put(ev(0, 10));
    await new Promise((r) => setTimeout(r, 60));
    assert.ok(ch.counters.get('OldestEventAgeMs') >= 50, `age ${ch.counters.get('OldestEventAgeMs')}`);
    assert.ok(ch.counters.get('ChannelBytesOnDisk') > 40);
    assert.is(ch.counters.get('ChannelFillPercentage'), 1);
    assert.is(ch.counters.get('Open'), 1);
    const t = await ch.take(10);
    await t.commit();
    assert.is(ch.counters.get('OldestEventAgeMs'), 0);
    await ch.stop();
    assert.is(ch.counters.get('Open'), 0);
    const again = open(dir);
    await again.start();
    assert.is(again.counters.get('ReplayProgressPercent'), 100);
    assert.ok(again.counters.get('CheckpointAgeMs') >= 0);
    assert.ok(lines.some((l) => l.includes('replayed') && l.includes('events/s')));
    await again.stop();
  } finally {
    cleanup();
  }
});

test('EventTakeAttemptCount counts as Flume does: one attempt per event taken, and one for the take that found the channel short', async () => {
  const { dir, cleanup } = tempDir();
  const ch = open(dir);
  await ch.start();
  try {
    await assertFlumeTakeAttempts(ch);
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('a take stops once its entries pass maxBytes, within a record and across records; the rest follows in order, and a rollback returns it whole', async () => {
  const { dir, cleanup } = tempDir();
  const ch = open(dir);
  const big = (from: number, n: number): FlumeEvent[] => Array.from({ length: n }, (_, i) => eventOf(`${String(from + i).padStart(4, '0')} ${'x'.repeat(995)}`));
  try {
    await ch.start();
    await ch.put(big(0, 10));
    await ch.put(big(10, 10));
    // entries of ~1 KB: the third starts before 2500 bytes, the fourth does not
    const t = await ch.take(100, 2500);
    assert.is(t.count, 3);
    assert.is(t.cut, true);
    assert.equal(text(t.events).map((b) => b.slice(0, 4)), ['0000', '0001', '0002']);
    await t.rollback();
    const again = await ch.take(100, 2500);
    assert.equal(text(again.events).map((b) => b.slice(0, 4)), ['0000', '0001', '0002']);
    await again.commit();
    // across the two records: 12 entries of ~1 KB pass 12,000 bytes with the twelfth
    const t2 = await ch.take(100, 12_000);
    assert.is(t2.count, 12);
    assert.equal(text(t2.events).map((b) => b.slice(0, 4)), Array.from({ length: 12 }, (_, i) => String(3 + i).padStart(4, '0')));
    await t2.commit();
    // no budget left to pass: the rest, and the take says it was not cut
    const t3 = await ch.take(100, 1 << 20);
    assert.is(t3.count, 5);
    assert.is(t3.cut, false);
    await t3.commit();
    assert.is(ch.size, 0);
  } finally {
    await ch.stop();
    cleanup();
  }
});

test('EventTakeAttemptCount with a byte budget, as the runner takes: the same counts, and a take the budget cut is not a short one', async () => {
  const { dir, cleanup } = tempDir();
  const ch = open(dir);
  await ch.start();
  try {
    await assertFlumeTakeAttempts(ch, true);
  } finally {
    await ch.stop();
    cleanup();
  }
});

test.run();
