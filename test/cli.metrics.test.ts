import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startCli } from './helpers/cli.ts';
import { freePort, LineClient } from './helpers/net.ts';
import { tempDir, until } from './helpers/poll.ts';

type FlumeJson = Record<string, Record<string, string>>;

async function getJson(url: string): Promise<FlumeJson> {
  const res = await fetch(url);
  assert.is(res.status, 200);
  return (await res.json()) as FlumeJson;
}

/** Agent `a`: a netcat source r1 (with `r1` keys added) → memory channel c1 → null sink k1. */
function netcatToNull(port: number, r1: string[] = []): string {
  return [
    'a.sources = r1', 'a.channels = c1', 'a.sinks = k1',
    'a.sources.r1.type = netcat', 'a.sources.r1.bind = 127.0.0.1', `a.sources.r1.port = ${port}`, 'a.sources.r1.channels = c1',
    ...r1.map((kv) => `a.sources.r1.${kv}`),
    'a.channels.c1.type = memory', 'a.sinks.k1.type = null', 'a.sinks.k1.channel = c1',
  ].join('\n') + '\n';
}

test("Flume's -Dflume.monitoring flags serve /metrics in Flume's shape, and the counters move as events flow", async () => {
  const { dir, cleanup } = tempDir();
  const nc = await freePort();
  const mon = await freePort();
  const conf = join(dir, 'a.properties');
  writeFileSync(conf, netcatToNull(nc));
  const cli = startCli(['agent', '-n', 'a', '-f', conf, `-Dflume.monitoring.type=http`, `-Dflume.monitoring.port=${mon}`]);
  try {
    await cli.waitFor('agent a started', 'stderr');
    const before = await getJson(`http://127.0.0.1:${mon}/metrics`);
    assert.equal(Object.keys(before).sort(), ['CHANNEL.c1', 'SINK.k1', 'SOURCE.r1']);
    assert.is(before['CHANNEL.c1'].ChannelCapacity, '100');
    assert.is(before['SOURCE.r1'].EventAcceptedCount, '0');
    for (const v of Object.values(before['CHANNEL.c1'])) assert.type(v, 'string');

    const client = await LineClient.connect(nc);
    client.send(Array.from({ length: 50 }, (_, i) => `m${i}`).join('\n') + '\n');
    await until('50 OKs', () => client.lines().length === 50);
    const after = await until('the sink drained 50 events', async () => {
      const m = await getJson(`http://127.0.0.1:${mon}/metrics`);
      return m['SINK.k1'].EventDrainSuccessCount === '50' ? m : undefined;
    });
    assert.is(after['SOURCE.r1'].EventAcceptedCount, '50');
    assert.is(after['CHANNEL.c1'].EventPutSuccessCount, '50');
    assert.is(after['CHANNEL.c1'].ChannelSize, '0');

    const prom = await (await fetch(`http://127.0.0.1:${mon}/metrics/prometheus`)).text();
    assert.match(prom, /^flume_sink_event_drain_success_total\{component="k1",type="null"\} 50$/m);
    client.close();
  } finally {
    cli.kill('SIGTERM');
    await cli.exited;
    cleanup();
  }
});

test('events a multiplexing selector without a default routes nowhere are counted on their source (EventUnroutedCount)', async () => {
  const { dir, cleanup } = tempDir();
  const nc = await freePort();
  const mon = await freePort();
  const conf = join(dir, 'a.properties');
  writeFileSync(conf, netcatToNull(nc, ['selector.type = multiplexing', 'selector.header = kind', 'selector.mapping.audit = c1']));
  const cli = startCli(['agent', '-n', 'a', '-f', conf, '--metrics-port', String(mon)]);
  try {
    await cli.waitFor('agent a started', 'stderr');
    const before = await getJson(`http://127.0.0.1:${mon}/metrics`);
    assert.is(before['SOURCE.r1'].EventUnroutedCount, '0');
    assert.is(before['SOURCE.r1'].EventDuplicatePutCount, '0');
    const client = await LineClient.connect(nc);
    // netcat events carry no "kind" header: no mapping, no default
    client.send('u1\nu2\nu3\n');
    await until('3 OKs', () => client.lines().length === 3);
    const after = await until('3 unrouted', async () => {
      const m = await getJson(`http://127.0.0.1:${mon}/metrics`);
      return m['SOURCE.r1'].EventUnroutedCount === '3' ? m : undefined;
    });
    assert.is(after['CHANNEL.c1'].EventPutSuccessCount, '0');
    client.close();
  } finally {
    cli.kill('SIGTERM');
    await cli.exited;
    cleanup();
  }
});

test.run();
