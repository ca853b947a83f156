import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { counterDelta, RateTracker, ratePerSec } from '../src/metrics/rates.ts';
import type { AgentSnapshot, ComponentSnapshot } from '../src/metrics/snapshot.ts';

function snap(at: number, ...components: ComponentSnapshot[]): AgentSnapshot {
  return { agent: 'a1', at, startedAt: 0, components };
}
const source = (accepted: number, extra: Record<string, number> = {}): ComponentSnapshot =>
  ({ kind: 'SOURCE', name: 'r1', type: 'TAILDIR', counters: { EventAcceptedCount: accepted, StartTime: 1, ...extra } });
const sink = (drained: number, extra: Record<string, number> = {}): ComponentSnapshot =>
  ({ kind: 'SINK', name: 'k1', type: 'http', counters: { EventDrainSuccessCount: drained, StartTime: 1, ...extra } });

test('events/s from two snapshots', () => {
  assert.is(ratePerSec(100, 600, 500), 1000);
  assert.is(ratePerSec(100, 100, 1000), 0);
  assert.is(ratePerSec(100, 200, 0), 0);
  const t = new RateTracker();
  assert.is(t.update(snap(1000, source(100)))['SOURCE.r1'].perSec, 0, 'no interval yet');
  const v = t.update(snap(3000, source(2100)));
  assert.is(v['SOURCE.r1'].perSec, 1000);
  assert.equal(v['SOURCE.r1'].history, [1000]);
});

test('a counter that goes down means a restart: the new value is what was counted since', () => {
  assert.is(counterDelta(500, 20), 20);
  const t = new RateTracker();
  t.update(snap(0, source(5000)));
  assert.is(t.update(snap(1000, source(30)))['SOURCE.r1'].perSec, 30);
});

test('a changed StartTime is a restart even when the counter happens to be higher', () => {
  const t = new RateTracker();
  t.update(snap(0, source(10)));
  assert.is(t.update(snap(1000, source(50, { StartTime: 2 })))['SOURCE.r1'].perSec, 50);
});

test('channels report in and out rates; falls back to EventReceivedCount for sources without accepted', () => {
  const t = new RateTracker();
  const ch = (put: number, take: number): ComponentSnapshot =>
    ({ kind: 'CHANNEL', name: 'c1', type: 'memory', counters: { EventPutSuccessCount: put, EventTakeSuccessCount: take } });
  const recv = (n: number): ComponentSnapshot => ({ kind: 'SOURCE', name: 'r9', type: 'x', counters: { EventReceivedCount: n } });
  t.update(snap(0, ch(0, 0), recv(0)));
  const v = t.update(snap(2000, ch(400, 300), recv(10)));
  assert.is(v['CHANNEL.c1'].perSec, 200);
  assert.is(v['CHANNEL.c1'].outPerSec, 150);
  assert.is(v['SOURCE.r9'].perSec, 5);
});

test('history keeps one minute of samples, oldest first', () => {
  const t = new RateTracker();
  let v = t.update(snap(0, source(0)));
  for (let i = 1; i <= 90; i++) v = t.update(snap(i * 1000, source(i * i)));
  const h = v['SOURCE.r1'].history;
  assert.is(h.length, 60);
  assert.is(h[59], 90 * 90 - 89 * 89);
  assert.is(h[0], 31 * 31 - 30 * 30);
});

test('errors count as recent for 10 s, back-pressure separately; a repeated snapshot changes nothing', () => {
  const t = new RateTracker();
  t.update(snap(0, sink(0, { EventWriteFail: 0 }), source(0, { ChannelWriteFail: 0 })));
  let v = t.update(snap(1000, sink(0, { EventWriteFail: 3 }), source(10, { ChannelWriteFail: 2 })));
  assert.is(v['SINK.k1'].recentErrors, 3);
  assert.is(v['SOURCE.r1'].recentPressure, 2);
  assert.is(v['SOURCE.r1'].recentErrors, 0);
  assert.equal(t.update(snap(1000, sink(99), source(99))), v);
  v = t.update(snap(5000, sink(100, { EventWriteFail: 3 }), source(10, { ChannelWriteFail: 2 })));
  assert.is(v['SINK.k1'].recentErrors, 3, 'still within 10 s');
  v = t.update(snap(11_500, sink(200, { EventWriteFail: 3 }), source(10, { ChannelWriteFail: 2 })));
  assert.is(v['SINK.k1'].recentErrors, 0, 'forgotten after 10 s');
  assert.is(v['SOURCE.r1'].recentPressure, 0);
});

test('components that disappear are dropped', () => {
  const t = new RateTracker();
  t.update(snap(0, source(0), sink(0)));
  const v = t.update(snap(1000, source(1)));
  assert.equal(Object.keys(v), ['SOURCE.r1']);
});

test.run();
