import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:http';
import { startMetricsServer } from '../src/metrics/server.ts';
import type { AgentSnapshot, ComponentSnapshot } from '../src/metrics/snapshot.ts';

function fakeAgent(): { snapshot: () => AgentSnapshot; flow: (n: number) => void } {
  let put = 0;
  let drained = 0;
  return {
    flow: (n) => { put += n; drained += n - 1; },
    snapshot: () => ({
      agent: 'a1', at: Date.now(), startedAt: 1_700_000_000_000,
      components: <ComponentSnapshot[]>[
        { kind: 'SOURCE', name: 'r1', type: 'TAILDIR', counters: { EventReceivedCount: put, EventAcceptedCount: put, StartTime: 1_700_000_000_001, StopTime: 0 } },
        { kind: 'CHANNEL', name: 'c1', type: 'file', counters: {
          EventPutSuccessCount: put, EventTakeSuccessCount: drained, ChannelSize: put - drained, ChannelCapacity: 1000,
          ChannelFillPercentage: ((put - drained) * 100) / 1000, StartTime: 1_700_000_000_001, StopTime: 0 } },
        { kind: 'SINK', name: 'k1', type: 'logger', counters: { EventDrainSuccessCount: drained, StartTime: 1_700_000_000_001, StopTime: 0 } },
      ],
    }),
  };
}

/** A raw request, for methods fetch refuses to send (TRACE). */
function raw(port: number, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('GET /metrics is Flume JSON whose counters move as events flow', async () => {
  const agent = fakeAgent();
  const server = await startMetricsServer({ port: 0, snapshot: agent.snapshot });
  try {
    assert.ok(server.port > 0);
    const get = async (): Promise<Record<string, Record<string, string>>> => {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      assert.is(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      return (await res.json()) as Record<string, Record<string, string>>;
    };
    const before = await get();
    assert.equal(Object.keys(before).sort(), ['CHANNEL.c1', 'SINK.k1', 'SOURCE.r1']);
    assert.is(before['SOURCE.r1'].EventAcceptedCount, '0');
    assert.is(before['CHANNEL.c1'].ChannelFillPercentage, '0.0');
    assert.is(before['CHANNEL.c1'].Type, 'CHANNEL');
    agent.flow(51);
    const after = await get();
    assert.is(after['SOURCE.r1'].EventAcceptedCount, '51');
    assert.is(after['CHANNEL.c1'].ChannelSize, '1');
    assert.is(after['CHANNEL.c1'].ChannelFillPercentage, '0.1');
    assert.is(after['SINK.k1'].EventDrainSuccessCount, '50');
    assert.is(after['SINK.k1'].StartTime, '1700000000001');
  } finally {
    await server.close();
  }
});

test('GET /snapshot is the raw snapshot; / is an index; TRACE/OPTIONS 403; unknown paths 404; POST 405', async () => {
  const agent = fakeAgent();
  agent.flow(10);
  const server = await startMetricsServer({ port: 0, snapshot: agent.snapshot });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const snap = (await (await fetch(`${base}/snapshot`)).json()) as AgentSnapshot;
    assert.is(snap.agent, 'a1');
    assert.is(snap.components[0].counters.EventAcceptedCount, 10);
    const index = await fetch(`${base}/`);
    assert.is(index.status, 200);
    assert.match(await index.text(), /\/metrics\/prometheus/);
    assert.is((await raw(server.port, 'TRACE', '/metrics')).status, 403);
    assert.is((await raw(server.port, 'OPTIONS', '/metrics')).status, 403);
    assert.is((await fetch(`${base}/nope`)).status, 404);
    assert.is((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    assert.is(head.status, 200);
    assert.is(await head.text(), '');
  } finally {
    await server.close();
  }
});

test('a snapshot that throws is a 500 with the reason, and the server keeps serving', async () => {
  let fail = true;
  const ok = fakeAgent();
  const server = await startMetricsServer({ port: 0, snapshot: () => { if (fail) throw new Error('boom'); return ok.snapshot(); } });
  try {
    const res = await raw(server.port, 'GET', '/metrics');
    assert.is(res.status, 500);
    assert.match(res.body, /boom/);
    fail = false;
    assert.is((await raw(server.port, 'GET', '/metrics')).status, 200);
  } finally {
    await server.close();
  }
});

test('binds 127.0.0.1 by default; a taken port is a typed error naming it', async () => {
  const agent = fakeAgent();
  const a = await startMetricsServer({ port: 0, snapshot: agent.snapshot });
  try {
    const err = await startMetricsServer({ port: a.port, snapshot: agent.snapshot }).then(() => undefined, (e: unknown) => e as Error & { code?: string });
    assert.is(err?.code, 'METRICS_LISTEN');
    assert.match(err?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${a.port}.*EADDRINUSE`));
  } finally {
    await a.close();
  }
});

test('close() ends keep-alive connections and resolves; calling it twice is harmless', async () => {
  const agent = fakeAgent();
  const server = await startMetricsServer({ port: 0, snapshot: agent.snapshot });
  const res = await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: { connection: 'keep-alive' } });
  await res.text();
  await Promise.all([server.close(), server.close()]);
  const after = await fetch(`http://127.0.0.1:${server.port}/metrics`).then(() => 'served', () => 'refused');
  assert.is(after, 'refused');
});

test.run();
