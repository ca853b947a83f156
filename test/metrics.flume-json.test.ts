import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fromFlumeJson, javaDouble, toFlumeJson } from '../src/metrics/flume-json.ts';
import type { AgentSnapshot } from '../src/metrics/snapshot.ts';

const snap: AgentSnapshot = {
  agent: 'a1', at: 1_700_000_100_000, startedAt: 1_700_000_000_000,
  components: [
    { kind: 'SOURCE', name: 'r1', type: 'TAILDIR', counters: { EventAcceptedCount: 42, StartTime: 1_700_000_000_123, StopTime: 0 } },
    { kind: 'CHANNEL', name: 'c1', type: 'memory', counters: { ChannelSize: 25, ChannelCapacity: 100, ChannelFillPercentage: 25, EventPutSuccessCount: 60, StartTime: 1, StopTime: 0 } },
    { kind: 'SINK', name: 'k1', type: 'logger', counters: { EventDrainSuccessCount: 35, BackoffMs: 0, StartTime: 1, StopTime: 0 } },
  ],
};

test('keys are TYPE.name and every value is a string, with Type/StartTime/StopTime', () => {
  const json = toFlumeJson(snap);
  assert.equal(Object.keys(json).sort(), ['CHANNEL.c1', 'SINK.k1', 'SOURCE.r1']);
  for (const attrs of Object.values(json)) {
    for (const v of Object.values(attrs)) assert.type(v, 'string');
    assert.ok('Type' in attrs && 'StartTime' in attrs && 'StopTime' in attrs);
  }
  assert.is(json['SOURCE.r1'].Type, 'SOURCE');
  assert.is(json['CHANNEL.c1'].Type, 'CHANNEL');
  assert.is(json['SINK.k1'].Type, 'SINK');
  assert.is(json['SOURCE.r1'].StartTime, '1700000000123');
  assert.is(json['SOURCE.r1'].StopTime, '0');
});

test('integers print without decimals, the fill percentage as a Java double', () => {
  const json = toFlumeJson(snap);
  assert.is(json['SOURCE.r1'].EventAcceptedCount, '42');
  assert.is(json['CHANNEL.c1'].ChannelSize, '25');
  assert.is(json['CHANNEL.c1'].ChannelFillPercentage, '25.0');
  assert.is(json['SINK.k1'].EventDrainSuccessCount, '35');
});

test('standard attributes of a kind are listed as "0" when the component never set them, like Flume', () => {
  const json = toFlumeJson(snap);
  assert.is(json['SOURCE.r1'].EventReceivedCount, '0');
  assert.is(json['SOURCE.r1'].OpenConnectionCount, '0');
  assert.is(json['SINK.k1'].ConnectionFailedCount, '0');
  assert.is(json['CHANNEL.c1'].EventTakeSuccessCount, '0');
});

test('a channel without a fill percentage gets size/capacity×100, Double.MAX for capacity 0', () => {
  const json = toFlumeJson({ ...snap, components: [
    { kind: 'CHANNEL', name: 'a', type: 'memory', counters: { ChannelSize: 1, ChannelCapacity: 3 } },
    { kind: 'CHANNEL', name: 'b', type: 'memory', counters: { ChannelSize: 0, ChannelCapacity: 0 } },
  ] });
  assert.is(json['CHANNEL.a'].ChannelFillPercentage, '33.333333333333336');
  assert.is(json['CHANNEL.b'].ChannelFillPercentage, '1.7976931348623157E308');
});

test('javaDouble matches Double.toString', () => {
  assert.is(javaDouble(0), '0.0');
  assert.is(javaDouble(100), '100.0');
  assert.is(javaDouble(45.5), '45.5');
  assert.is(javaDouble(0.0001), '1.0E-4');
  assert.is(javaDouble(12_345_678), '1.2345678E7');
  assert.is(javaDouble(1e7), '1.0E7');
  assert.is(javaDouble(-2.5), '-2.5');
});

test('fromFlumeJson reads a real Flume body back into a snapshot', () => {
  const flume = {
    'CHANNEL.fileChannel': { EventPutSuccessCount: '468085', Type: 'CHANNEL', StopTime: '0', ChannelSize: '233428', StartTime: '1344882233070', ChannelCapacity: '600000', ChannelFillPercentage: '38.9046' },
    'SOURCE.r1': { EventAcceptedCount: '10', Type: 'SOURCE', StartTime: '1344882233000', StopTime: '0' },
    'CHANNEL_PROCESSOR.x': { Type: 'CHANNEL_PROCESSOR' },
  };
  const s = fromFlumeJson(flume, 'flume', 5);
  assert.is(s.at, 5);
  assert.is(s.startedAt, 1344882233000);
  assert.equal(s.components.map((c) => `${c.kind}.${c.name}`), ['CHANNEL.fileChannel', 'SOURCE.r1']);
  assert.is(s.components[0].counters.ChannelSize, 233428);
  assert.is(s.components[0].counters.ChannelFillPercentage, 38.9046);
  assert.not.ok('Type' in s.components[0].counters);
  assert.throws(() => fromFlumeJson([], 'x'), /object/);
});

test('round trip: toFlumeJson then fromFlumeJson keeps every counter', () => {
  const back = fromFlumeJson(toFlumeJson(snap), 'a1');
  const c1 = back.components.find((c) => c.name === 'c1');
  assert.is(c1?.counters.EventPutSuccessCount, 60);
  assert.is(c1?.counters.ChannelFillPercentage, 25);
});

test.run();
