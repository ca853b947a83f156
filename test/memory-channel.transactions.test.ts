import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryChannel } from '../src/channels/memory.ts';
import { ChannelFullError, TransactionTooLargeError } from '../src/core/errors.ts';
import { eventOf } from '../src/core/event.ts';
import { Logger } from '../src/core/log.ts';
import { assertFlumeTakeAttempts } from './helpers/take-attempts.ts';

const bodies = (events: { body: Uint8Array }[]) => events.map((e) => Buffer.from(e.body).toString());
const make = (capacity = 10, transactionCapacity = 5, keepAliveMs = 0) =>
  new MemoryChannel('c1', { capacity, transactionCapacity, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs });

test('takes come out in put order and commit removes them', async () => {
  const ch = make();
  await ch.start();
  await ch.put(['a', 'b', 'c'].map((s) => eventOf(s)));
  const t = await ch.take(2);
  assert.equal(bodies(t.events), ['a', 'b']);
  assert.is(ch.size, 3, 'events in an open take still count against capacity');
  await t.commit();
  assert.is(ch.size, 1);
  const t2 = await ch.take(5);
  assert.equal(bodies(t2.events), ['c']);
  await t2.commit();
  assert.is(ch.counters.get('EventTakeSuccessCount'), 3);
  assert.is(ch.counters.get('EventPutSuccessCount'), 3);
});

test('rollback returns events to the head in order, even when takes roll back out of order', async () => {
  const ch = make(10, 5);
  await ch.start();
  await ch.put(['1', '2', '3', '4', '5'].map((s) => eventOf(s)));
  const a = await ch.take(2);
  const b = await ch.take(2);
  await b.rollback();
  await a.rollback();
  const all = await ch.take(5);
  assert.equal(bodies(all.events), ['1', '2', '3', '4', '5']);
});

test('a take on an empty channel returns at once with no events', async () => {
  const ch = make();
  await ch.start();
  const t0 = Date.now();
  const t = await ch.take(5);
  assert.is(t.events.length, 0);
  assert.ok(Date.now() - t0 < 50);
  await t.commit();
});

test('capacity is enforced: a put that does not fit fails with ChannelFullError and stores nothing', async () => {
  const ch = make(4, 4);
  await ch.start();
  await ch.put(['a', 'b', 'c'].map((s) => eventOf(s)));
  try {
    await ch.put(['d', 'e'].map((s) => eventOf(s)));
    assert.unreachable('put should fail');
  } catch (err) {
    assert.instance(err, ChannelFullError);
    assert.is((err as ChannelFullError).code, 'CHANNEL_FULL');
  }
  assert.is(ch.size, 3);
});

test('transactionCapacity bounds puts and takes', async () => {
  const ch = make(100, 3);
  await ch.start();
  try {
    await ch.put(['a', 'b', 'c', 'd'].map((s) => eventOf(s)));
    assert.unreachable();
  } catch (err) {
    assert.instance(err, TransactionTooLargeError);
  }
  await ch.put(['a', 'b', 'c'].map((s) => eventOf(s)));
  await ch.put(['d'].map((s) => eventOf(s)));
  const t = await ch.take(10);
  assert.is(t.events.length, 3);
});

test('a full channel makes put wait up to keep-alive, and a commit that frees room lets it through', async () => {
  const ch = make(2, 2, 2000);
  await ch.start();
  await ch.put([eventOf('a'), eventOf('b')]);
  const pending = ch.put([eventOf('c')]);
  const t = await ch.take(1);
  await t.commit();
  await pending;
  const rest = await ch.take(5);
  assert.equal(bodies(rest.events), ['b', 'c']);
});

test('byteCapacity bounds the bytes held', async () => {
  const ch = new MemoryChannel('c1', { capacity: 1000, transactionCapacity: 100, byteCapacity: 1000, byteCapacityBufferPercentage: 0, keepAliveMs: 0 });
  await ch.start();
  await ch.put([eventOf('x'.repeat(500))]);
  try {
    await ch.put([eventOf('y'.repeat(600))]);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ChannelFullError);
  }
});

test('waitForEvents resolves when a put lands', async () => {
  const ch = make();
  await ch.start();
  const t0 = Date.now();
  const waiting = ch.waitForEvents(5000);
  setTimeout(() => void ch.put([eventOf('x')]), 20);
  await waiting;
  assert.ok(Date.now() - t0 < 1000);
});

test('commit twice is an error', async () => {
  const ch = make();
  await ch.start();
  await ch.put([eventOf('x')]);
  const t = await ch.take(1);
  await t.commit();
  try {
    await t.commit();
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /already/);
  }
});

test('events still in the channel at stop are named in a warning (they were acknowledged to their sources); none, no warning', async () => {
  const logged: string[] = [];
  const log = new Logger({ write: (l) => logged.push(l) });
  const ch = new MemoryChannel('c9', { capacity: 100, transactionCapacity: 10, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 }, log);
  await ch.start();
  await ch.put([eventOf('a'), eventOf('b'), eventOf('c')]);
  const t = await ch.take(1);
  await t.commit();
  await ch.stop();
  assert.equal(logged.filter((l) => l.includes('memory channel c9')).length, 1);
  assert.match(logged.join('\n'), '2 event(s) not yet delivered are discarded at stop');
  const empty = new MemoryChannel('c8', { capacity: 100, transactionCapacity: 10, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 }, log);
  await empty.start();
  await empty.stop();
  assert.not.ok(logged.some((l) => l.includes('memory channel c8')));
});

test('EventTakeAttemptCount counts as Flume does: one attempt per event taken, and one for the take that found the channel short', async () => {
  const ch = make(100, 10);
  await ch.start();
  try {
    await assertFlumeTakeAttempts(ch);
  } finally {
    await ch.stop();
  }
});

test('a take stops once its bodies pass maxBytes (the event that passes it is the last), rolled-back events first', async () => {
  const ch = make(20, 10);
  await ch.start();
  await ch.put(['a'.repeat(300), 'b'.repeat(300), 'c'.repeat(300), 'd'.repeat(300), 'e'.repeat(300)].map((s) => eventOf(s)));
  const t = await ch.take(10, 700);
  assert.equal(bodies(t.events).map((b) => b[0]), ['a', 'b', 'c']);
  assert.is(t.cut, true);
  await t.rollback();
  const t2 = await ch.take(10, 1000);
  assert.equal(bodies(t2.events).map((b) => b[0]), ['a', 'b', 'c', 'd']);
  await t2.commit();
  const t3 = await ch.take(10, 1000);
  assert.equal(bodies(t3.events).map((b) => b[0]), ['e']);
  assert.is(t3.cut, false);
  await t3.commit();
});

test('EventTakeAttemptCount with a byte budget, as the runner takes: the same counts, and a take the budget cut is not a short one', async () => {
  const ch = make(100, 10);
  await ch.start();
  try {
    await assertFlumeTakeAttempts(ch, true);
  } finally {
    await ch.stop();
  }
});

test.run();
