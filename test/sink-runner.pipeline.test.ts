import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Channel, Taken } from '../src/channels/channel.ts';
import { MemoryChannel } from '../src/channels/memory.ts';
import { DeliveryError } from '../src/core/errors.ts';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import { Logger } from '../src/core/log.ts';
import { COMMITS_IN_FLIGHT, DEFAULT_RUNNER, SinkRunner } from '../src/core/sink-runner.ts';
import { CounterGroup, SINK_COUNTERS } from '../src/metrics/counters.ts';
import type { Sink } from '../src/sinks/sink.ts';
import { until } from './helpers/poll.ts';
import { fakeChannel } from './helpers/fake-channel.ts';
import type { EntryRun } from '../src/channels/file/framing.ts';

const quiet = new Logger({ write: () => {} });

/** A memory channel whose take commits wait until the test lets them through (like a slow fsync). */
class GatedChannel {
  readonly inner = new MemoryChannel('c1', { capacity: 1000, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 });
  gates: (() => void)[] = [];
  takes = 0;
  hold = true;
  commitsDone = 0;
  asChannel(): Channel {
    const inner = this.inner;
    return {
      name: inner.name,
      counters: inner.counters,
      get size() { return inner.size; },
      capacity: inner.capacity,
      transactionCapacity: inner.transactionCapacity,
      start: () => inner.start(),
      stop: () => inner.stop(),
      put: (e: FlumeEvent[]) => inner.put(e),
      waitForEvents: (ms: number) => inner.waitForEvents?.(ms) ?? Promise.resolve(),
      take: async (max: number): Promise<Taken> => {
        const t = await inner.take(max);
        if (t.events.length) this.takes++;
        return {
          count: t.count,
          events: t.events,
          rollback: () => t.rollback(),
          commit: async () => {
            if (t.events.length && this.hold) await new Promise<void>((r) => this.gates.push(r));
            await t.commit();
            if (t.events.length) this.commitsDone++;
          },
        };
      },
    };
  }
}

class RecordingSink implements Sink {
  readonly name = 'k1';
  readonly counters = new CounterGroup('SINK', 'k1', 'test', SINK_COUNTERS);
  delivered: string[] = [];
  failNext = 0;
  async start() {}
  async stop() {}
  async deliver(events: FlumeEvent[]) {
    if (this.failNext > 0) {
      this.failNext--;
      throw new DeliveryError(this.name, 'downstream says 503', { retryAfterMs: 0 });
    }
    for (const e of events) this.delivered.push(Buffer.from(e.body).toString());
  }
}

async function fill(ch: GatedChannel, n: number) {
  await ch.inner.start();
  for (let i = 0; i < n; i += 10) await ch.inner.put(Array.from({ length: Math.min(10, n - i) }, (_, j) => eventOf(String(i + j))));
}

test('later batches are delivered while earlier take commits are in flight (at most COMMITS_IN_FLIGHT); drained counts only after the commit', async () => {
  const K = COMMITS_IN_FLIGHT;
  const total = (K + 2) * 10;
  const ch = new GatedChannel();
  await fill(ch, total);
  const sink = new RecordingSink();
  const runner = new SinkRunner(sink, ch.asChannel(), { ...DEFAULT_RUNNER, batchSize: 10, backoffBaseMs: 10, maxBackoffMs: 50 }, quiet);
  await runner.start();
  // batches 1..K delivered with their commits held; batch K+1 delivered, its commit waiting for a place
  await until(`${K + 1} batches delivered before any commit`, () => sink.delivered.length === (K + 1) * 10 && ch.gates.length === K);
  assert.is(ch.commitsDone, 0);
  assert.is(sink.counters.get('EventDrainSuccessCount'), 0, 'nothing counted as drained before its commit is durable');
  // batch K+2 waits for commit 1: let every pending callback run, nothing more is delivered
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.is(sink.delivered.length, (K + 1) * 10, `never more than ${K} commits outstanding`);
  assert.is(ch.gates.length, K);
  ch.hold = false;
  ch.gates.shift()!();
  await until('the last batch delivered once a commit completed', () => sink.delivered.length === total);
  for (const g of ch.gates.splice(0)) g();
  await until('all committed', () => ch.commitsDone === K + 2);
  await runner.stop();
  assert.equal(sink.delivered, Array.from({ length: total }, (_, i) => String(i)));
  assert.is(sink.counters.get('EventDrainSuccessCount'), total);
  assert.is(ch.inner.size, 0);
});

test('a take with the channel\'s records goes to deliverRaw, never decoded; a sink without it gets the events', async () => {
  const runs: EntryRun[] = [{ buf: Buffer.alloc(0), from: 0, to: 0, count: 3 }];
  let decodes = 0;
  let left = 1;
  const channel = {
    ...fakeChannel('c1'),
    take: async (): Promise<Taken> => {
      const n = left-- > 0 ? 3 : 0;
      return {
        count: n,
        raw: n ? runs : undefined,
        get events() {
          decodes++;
          return Array.from({ length: n }, (_, i) => eventOf(String(i)));
        },
        commit: async () => {},
        rollback: async () => {},
      };
    },
  };
  const got: unknown[] = [];
  const sink: Sink = {
    name: 'k1',
    counters: new CounterGroup('SINK', 'k1', 'test', SINK_COUNTERS),
    async start() {},
    async stop() {},
    async deliver() {
      throw new Error('deliver must not be called when deliverRaw can take the records');
    },
    async deliverRaw(raw) {
      got.push(raw);
    },
  };
  const runner = new SinkRunner(sink, channel, { ...DEFAULT_RUNNER, batchSize: 3 }, quiet);
  await runner.start();
  await until('delivered', () => sink.counters.get('EventDrainSuccessCount') === 3);
  await runner.stop();
  assert.equal(got, [runs]);
  assert.is(decodes, 0, 'the events were never decoded');
});

test('stop waits for the outstanding take commit', async () => {
  const ch = new GatedChannel();
  await fill(ch, 10);
  const sink = new RecordingSink();
  const runner = new SinkRunner(sink, ch.asChannel(), { ...DEFAULT_RUNNER, batchSize: 10, stopGraceMs: 2000 }, quiet);
  await runner.start();
  await until('delivered', () => sink.delivered.length === 10 && ch.gates.length === 1);
  let stopped = false;
  const stopping = runner.stop().then(() => (stopped = true));
  await new Promise((r) => setImmediate(r));
  assert.is(stopped, false);
  ch.gates.shift()!();
  await stopping;
  assert.is(ch.commitsDone, 1);
  assert.is(ch.inner.size, 0);
});

test('a failed delivery also gives back the batch taken ahead: every event once, in order', async () => {
  const ch = new GatedChannel();
  ch.hold = false;
  await fill(ch, 50);
  const sink = new RecordingSink();
  sink.failNext = 2;
  const runner = new SinkRunner(sink, ch.asChannel(), { ...DEFAULT_RUNNER, batchSize: 10, backoffBaseMs: 5, maxBackoffMs: 20 }, quiet);
  await runner.start();
  await until('all delivered', () => sink.delivered.length === 50);
  await runner.stop();
  assert.equal(sink.delivered, Array.from({ length: 50 }, (_, i) => String(i)));
  assert.is(ch.inner.size, 0);
  assert.ok(ch.takes > 5, 'batches were taken ahead and given back');
});

test.run();
