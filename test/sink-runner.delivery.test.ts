import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryChannel } from '../src/channels/memory.ts';
import { DeliveryError } from '../src/core/errors.ts';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import { Logger } from '../src/core/log.ts';
import { DEFAULT_RUNNER, SinkRunner, TAKE_MAX_BYTES } from '../src/core/sink-runner.ts';
import { CounterGroup, SINK_COUNTERS } from '../src/metrics/counters.ts';
import type { Sink } from '../src/sinks/sink.ts';
import { until } from './helpers/poll.ts';

const quiet = new Logger({ write: () => {} });

class ScriptedSink implements Sink {
  readonly name = 'k1';
  readonly counters = new CounterGroup('SINK', 'k1', 'test', SINK_COUNTERS);
  delivered: string[] = [];
  attempts = 0;
  constructor(private readonly failFirst: number, private readonly retryAfterMs = 0) {}
  async start() {}
  async stop() {}
  async deliver(events: FlumeEvent[]) {
    this.attempts++;
    if (this.attempts <= this.failFirst) throw new DeliveryError(this.name, 'downstream says 503', { retryAfterMs: this.retryAfterMs });
    for (const e of events) this.delivered.push(Buffer.from(e.body).toString());
  }
}

async function setup(sink: ScriptedSink, n: number, batchSize = 10) {
  const ch = new MemoryChannel('c1', { capacity: 1000, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 });
  await ch.start();
  for (let i = 0; i < n; i += 10) await ch.put(Array.from({ length: Math.min(10, n - i) }, (_, j) => eventOf(String(i + j))));
  const runner = new SinkRunner(sink, ch, { ...DEFAULT_RUNNER, batchSize, backoffBaseMs: 10, maxBackoffMs: 50 }, quiet);
  return { ch, runner };
}

test('delivers every event once, in order, and counts batches', async () => {
  const sink = new ScriptedSink(0);
  const { ch, runner } = await setup(sink, 25);
  await runner.start();
  await until('all delivered', () => sink.delivered.length === 25);
  await runner.stop();
  assert.equal(sink.delivered, Array.from({ length: 25 }, (_, i) => String(i)));
  assert.is(ch.size, 0);
  assert.is(sink.counters.get('EventDrainSuccessCount'), 25);
  assert.is(sink.counters.get('BatchCompleteCount'), 2);
  assert.is(sink.counters.get('BatchUnderflowCount'), 1);
});

test('a failed delivery rolls back and is retried with backoff; nothing lost, order kept', async () => {
  const sink = new ScriptedSink(3);
  const { ch, runner } = await setup(sink, 30);
  await runner.start();
  await until('all delivered', () => sink.delivered.length === 30);
  await runner.stop();
  assert.equal(sink.delivered, Array.from({ length: 30 }, (_, i) => String(i)));
  assert.is(sink.attempts, 6);
  assert.is(ch.size, 0);
  assert.is(sink.counters.get('BackoffMs'), 0, 'backoff cleared once flowing');
});

test('Retry-After from the sink sets the minimum backoff', async () => {
  const sink = new ScriptedSink(1, 300);
  const { runner } = await setup(sink, 5);
  const t0 = Date.now();
  await runner.start();
  await until('delivered', () => sink.delivered.length === 5);
  await runner.stop();
  assert.ok(Date.now() - t0 >= 290, `waited ${Date.now() - t0} ms`);
});

test('stop during a hung delivery rolls the batch back into the channel', async () => {
  const ch = new MemoryChannel('c1', { capacity: 100, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 });
  await ch.start();
  await ch.put([eventOf('a'), eventOf('b')]);
  let entered = false;
  const sink: Sink = {
    name: 'hung',
    counters: new CounterGroup('SINK', 'hung', 'test', SINK_COUNTERS),
    start: async () => {},
    stop: async () => {},
    deliver: () => {
      entered = true;
      return new Promise(() => {});
    },
  };
  const runner = new SinkRunner(sink, ch, { ...DEFAULT_RUNNER, stopGraceMs: 100 }, quiet);
  await runner.start();
  await until('delivery started', () => entered);
  await runner.stop();
  const t = await ch.take(10);
  assert.equal(t.events.map((e) => Buffer.from(e.body).toString()), ['a', 'b']);
});

test('events a sink rejects by policy are committed but not counted as drained', async () => {
  const ch = new MemoryChannel('c1', { capacity: 100, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 });
  await ch.start();
  await ch.put([eventOf('a'), eventOf('b'), eventOf('c')]);
  const sink: Sink = {
    name: 'picky',
    counters: new CounterGroup('SINK', 'picky', 'test', SINK_COUNTERS),
    start: async () => {},
    stop: async () => {},
    deliver: async () => ({ rejected: 2 }),
  };
  const runner = new SinkRunner(sink, ch, DEFAULT_RUNNER, quiet);
  await runner.start();
  await until('committed', () => ch.size === 0);
  await runner.stop();
  assert.is(sink.counters.get('EventDrainAttemptCount'), 3);
  assert.is(sink.counters.get('EventDrainSuccessCount'), 1);
});

test('a sink that delivers synchronously from a memory channel still lets timers and I/O run while it drains a backlog', async () => {
  const busy = new (class extends ScriptedSink {
    override async deliver(events: FlumeEvent[]) {
      const until = performance.now() + 1; // a synchronous write: 1 ms of blocking per batch
      while (performance.now() < until);
      await super.deliver(events);
    }
  })(0);
  const ch = new MemoryChannel('c1', { capacity: 4000, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 });
  await ch.start();
  for (let i = 0; i < 4000; i += 100) await ch.put(Array.from({ length: 100 }, (_, j) => eventOf(String(i + j))));
  const runner = new SinkRunner(busy, ch, { ...DEFAULT_RUNNER, batchSize: 10 }, quiet);
  let seenAt = -1;
  setTimeout(() => (seenAt = busy.delivered.length), 0);
  await runner.start();
  await until('all delivered', () => busy.delivered.length === 4000, 20_000);
  await runner.stop();
  // 400 batches of 1 ms: a timer due at once must not wait for the whole backlog
  assert.ok(seenAt >= 0 && seenAt < 4000, `the timer ran when ${seenAt} of 4000 were delivered`);
});

test('a wait a failure asks for holds every loop: with 4 loops the batch rolled back is not sent again by another loop at once', async () => {
  const at: number[] = [];
  const sink = new (class extends ScriptedSink {
    override async deliver(events: FlumeEvent[]) {
      at.push(Date.now());
      await super.deliver(events);
    }
  })(1, 400);
  const ch = new MemoryChannel('c1', { capacity: 1000, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 });
  await ch.start();
  await ch.put(Array.from({ length: 10 }, (_, i) => eventOf(String(i))));
  const runner = new SinkRunner(sink, ch, { ...DEFAULT_RUNNER, batchSize: 10, concurrency: 4 }, quiet);
  await runner.start();
  await until('delivered after the wait', () => sink.delivered.length === 10, 10_000);
  await runner.stop();
  assert.ok(at.length >= 2);
  assert.ok(at[1] - at[0] >= 390, `sent again ${at[1] - at[0]} ms after the receiver asked for 400`);
});

test('a wait the sink names is the wait: the runner does not stretch it with its own backoff', async () => {
  const logged: string[] = [];
  const sink = new ScriptedSink(6, 30);
  const ch = new MemoryChannel('c1', { capacity: 1000, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 });
  await ch.start();
  await ch.put(Array.from({ length: 5 }, (_, i) => eventOf(String(i))));
  const runner = new SinkRunner(sink, ch, { ...DEFAULT_RUNNER, batchSize: 10, backoffBaseMs: 10, maxBackoffMs: 50 }, new Logger({ write: (l) => logged.push(l) }));
  await runner.start();
  await until('delivered', () => sink.delivered.length === 5, 10_000);
  await runner.stop();
  const waits = logged.filter((l) => l.includes('delivery of 5 events failed')).map((l) => /retrying in (\d+) ms/.exec(l)?.[1]);
  assert.equal(waits, ['30', '30', '30', '30', '30', '30']);
});

test('after a recovery the next outage is warned about at once, whatever the last one used of the warnings budget', async () => {
  const logged: string[] = [];
  const sink = new (class extends ScriptedSink {
    failing = true;
    override async deliver(events: FlumeEvent[]) {
      this.attempts++;
      if (this.failing) throw new DeliveryError(this.name, 'downstream says 503', { retryAfterMs: 5 });
      for (const e of events) this.delivered.push(Buffer.from(e.body).toString());
    }
  })(0);
  const ch = new MemoryChannel('c1', { capacity: 1000, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 });
  await ch.start();
  await ch.put([eventOf('a')]);
  const runner = new SinkRunner(sink, ch, { ...DEFAULT_RUNNER, batchSize: 10 }, new Logger({ write: (l) => logged.push(l) }));
  await runner.start();
  try {
    await until('more failures than the budget of 10 a minute', () => sink.attempts >= 14, 10_000);
    sink.failing = false;
    await until('delivered', () => sink.delivered.length === 1, 10_000);
    const recoveredAt = logged.findIndex((l) => l.includes('delivering again'));
    assert.ok(recoveredAt >= 0);
    sink.failing = true;
    const before = sink.attempts;
    await ch.put([eventOf('b')]);
    await until('the next outage began', () => sink.attempts > before, 10_000);
    await until('and is warned about', () => logged.slice(recoveredAt).some((l) => l.includes('delivery of 1 events failed')), 2_000);
  } finally {
    sink.failing = false;
    await runner.stop();
  }
});

test('takes of long events stop at TAKE_MAX_BYTES and count as complete batches; every event is delivered once, in order', async () => {
  const sizes: number[] = [];
  const sink = new ScriptedSink(0);
  const deliver = sink.deliver.bind(sink);
  sink.deliver = async (events) => {
    sizes.push(events.reduce((n, e) => n + e.body.length, 0));
    return deliver(events);
  };
  const ch = new MemoryChannel('c1', { capacity: 1000, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 });
  await ch.start();
  // 60 events of 256 KiB: a batch of 100 would be 15 MiB
  const line = 256 * 1024;
  for (let i = 0; i < 60; i += 10) await ch.put(Array.from({ length: 10 }, (_, j) => eventOf(String(i + j).padStart(2, '0') + 'x'.repeat(line - 2))));
  const runner = new SinkRunner(sink, ch, { ...DEFAULT_RUNNER, batchSize: 100 }, quiet);
  await runner.start();
  await until('all delivered', () => sink.delivered.length === 60);
  await runner.stop();
  assert.equal(sink.delivered.map((b) => b.slice(0, 2)), Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0')));
  assert.ok(Math.max(...sizes) <= TAKE_MAX_BYTES, `a take of ${Math.max(...sizes)} bytes`);
  assert.is(sizes.length, Math.ceil((60 * line) / TAKE_MAX_BYTES));
  assert.is(sink.counters.get('BatchCompleteCount'), sizes.length - 1);
});

test.run();
