import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeliveryError } from '../src/core/errors.ts';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import { Logger } from '../src/core/log.ts';
import { SinkGroup } from '../src/sinks/group.ts';
import type { Sink } from '../src/sinks/sink.ts';
import { CounterGroup, SINK_COUNTERS } from '../src/metrics/counters.ts';

const quiet = new Logger({ write: () => {} });

class Member implements Sink {
  readonly counters: CounterGroup;
  got: string[] = [];
  down = false;
  constructor(readonly name: string) {
    this.counters = new CounterGroup('SINK', name, 'test', SINK_COUNTERS);
  }
  async start() {}
  async stop() {}
  async deliver(events: FlumeEvent[]) {
    if (this.down) throw new DeliveryError(this.name, 'connection refused');
    for (const e of events) this.got.push(Buffer.from(e.body).toString());
  }
}

const batch = (s: string) => [eventOf(s)];

test('failover: the highest priority takes everything; on failure the next takes over at once, and the first is back after its penalty', async () => {
  let now = 1_000_000;
  const a = new Member('a');
  const b = new Member('b');
  const g = new SinkGroup('g', [b, a], { type: 'failover', priorities: { a: 10, b: 5 }, maxPenaltyMs: 30_000 }, quiet, () => now);
  await g.deliver(batch('1'));
  assert.equal([a.got, b.got], [['1'], []]);
  a.down = true;
  await g.deliver(batch('2'));
  assert.equal([a.got, b.got], [['1'], ['2']], 'failed over within the same delivery');
  a.down = false;
  now += 1000;
  await g.deliver(batch('3'));
  assert.equal(b.got, ['2', '3'], 'a still serves its 2 s penalty');
  now += 1500;
  await g.deliver(batch('4'));
  assert.equal(a.got, ['1', '4'], 'a is back after the penalty');
  assert.is(a.counters.get('EventDrainSuccessCount'), 2);
  assert.is(b.counters.get('EventDrainSuccessCount'), 2);
});

test('failover: penalties double per failure up to maxpenalty; all members down fails the batch for the runner to retry', async () => {
  let now = 0;
  const a = new Member('a');
  const b = new Member('b');
  a.down = b.down = true;
  const g = new SinkGroup('g', [a, b], { type: 'failover', priorities: {}, maxPenaltyMs: 5000 }, quiet, () => now);
  for (let i = 0; i < 4; i++) {
    try {
      await g.deliver(batch('x'));
      assert.unreachable();
    } catch (err) {
      assert.instance(err, DeliveryError);
      assert.match((err as Error).message, /every sink of the group failed: a: .*; b: /);
    }
    now += 10_000;
  }
  const details = g.counters.details!() as { members: { sink: string; failures: number; restingMs: number }[] };
  assert.is(details.members[0].failures, 4);
  assert.ok(details.members[0].restingMs <= 5000, 'capped by maxpenalty');
  b.down = false;
  await g.deliver(batch('y'));
  assert.equal(b.got, ['y']);
});

test('load_balance round_robin spreads batches evenly; with backoff a failing member rests and the others carry on', async () => {
  let now = 0;
  const sinks = [new Member('a'), new Member('b'), new Member('c')];
  const g = new SinkGroup('g', sinks, { type: 'load_balance', selector: 'round_robin', backoff: true, maxTimeOutMs: 30_000 }, quiet, () => now);
  for (let i = 0; i < 6; i++) await g.deliver(batch(String(i)));
  assert.equal(sinks.map((s) => s.got.length), [2, 2, 2]);
  sinks[1].down = true;
  for (let i = 0; i < 6; i++) await g.deliver(batch(`x${i}`));
  assert.is(sinks[0].got.length + sinks[2].got.length, 10, 'every batch delivered by a or c');
  assert.is(sinks[1].got.length, 2);
});

test('load_balance random offers members in a shuffled order', async () => {
  const sinks = [new Member('a'), new Member('b')];
  const rolls = [0.9, 0.1, 0.9, 0.1];
  const g = new SinkGroup('g', sinks, { type: 'load_balance', selector: 'random', backoff: false, maxTimeOutMs: 30_000 }, quiet, Date.now, () => rolls.shift() ?? 0);
  for (let i = 0; i < 4; i++) await g.deliver(batch(String(i)));
  assert.ok(sinks[0].got.length > 0 && sinks[1].got.length > 0);
});

test.run();
