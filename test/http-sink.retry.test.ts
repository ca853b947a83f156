import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Logger } from '../src/core/log.ts';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import { DeliveryError } from '../src/core/errors.ts';
import { httpSinkSpec } from '../src/sinks/http/spec.ts';
import type { Sink } from '../src/sinks/sink.ts';
import { tempDir, until } from './helpers/poll.ts';
import { MemoryChannel } from '../src/channels/memory.ts';
import { DEFAULT_RUNNER, SinkRunner } from '../src/core/sink-runner.ts';
import { contextOf } from './helpers/context.ts';

type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

interface Scripted {
  url: string;
  port: number;
  /** Request bodies in arrival order, with the status each got. */
  got: Array<{ body: string; status: number | 'hang' }>;
  close: () => Promise<void>;
}

/** A receiver on 127.0.0.1 whose answer to the n-th request (from 0) is scripted. */
async function scripted(reply: (n: number) => Reply, port = 0): Promise<Scripted> {
  const got: Scripted['got'] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const r = reply(got.length);
      got.push({ body: Buffer.concat(parts).toString(), status: r === 'hang' ? 'hang' : r.status });
      if (r === 'hang') return;
      res.writeHead(r.status, r.headers);
      res.end(r.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/`,
    port: bound,
    got,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

function sinkOf(props: Record<string, string>, log = new Logger({ write: () => {} })): Sink {
  const { ctx, problems } = contextOf('a1.sinks.k1', props);
  ctx.markUsed('type');
  const opts = httpSinkSpec.parse(ctx);
  ctx.reportUnknown(httpSinkSpec.keys);
  assert.equal(problems.list, [], 'no config problems');
  return httpSinkSpec.create(opts, { name: 'k1', log, out: { write: () => {} } });
}

const lines = (n: number): FlumeEvent[] => Array.from({ length: n }, (_, i) => eventOf(`e${i}`));
const failureOf = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

/**
 * What the SinkRunner does, in miniature: take up to `batchSize` in order,
 * deliver, move on when it resolves; when it throws, wait the error's
 * retryAfterMs and deliver the same batch again.
 */
async function drive(sink: Sink, events: FlumeEvent[], batchSize: number, timeoutMs = 8000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let throws = 0;
  for (let i = 0; i < events.length;) {
    const batch = events.slice(i, i + batchSize);
    try {
      await sink.deliver(batch);
      i += batch.length;
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      if (Date.now() > deadline) throw new Error(`still failing at the deadline: ${err.message}`);
      throws++;
      await new Promise((r) => setTimeout(r, Math.max(err.retryAfterMs ?? 0, 10)));
    }
  }
  return throws;
}

const quick = { initialBackoff: '20', maxBackoff: '200' };

test('503 then 200: retried inside deliver, delivered once, nothing lost', async () => {
  const s = await scripted((n) => (n < 2 ? { status: 503 } : { status: 200 }));
  const sink = sinkOf({ type: 'http', endpoint: s.url, ...quick });
  await sink.start();
  try {
    await sink.deliver(lines(5));
    assert.equal(s.got.map((g) => g.status), [503, 503, 200]);
    assert.ok(s.got.every((g) => g.body === 'e0\ne1\ne2\ne3\ne4'), 'the same batch each time');
    assert.is(sink.counters.get('RetryCount'), 2);
    assert.is(sink.counters.get('ResponseCount5xx'), 2);
    assert.is(sink.counters.get('ResponseCount2xx'), 1);
    assert.is(sink.counters.get('BackoffMs'), 0, 'backoff reset by the success');
  } finally {
    await sink.stop();
    await s.close();
  }
});

test('a long outage ends in a DeliveryError with the backoff, which grows to maxBackoff and resets on success', async () => {
  let up = false;
  const s = await scripted(() => (up ? { status: 200 } : { status: 500, body: 'boom' }));
  const sink = sinkOf({ type: 'http', endpoint: s.url, initialBackoff: '10', maxBackoff: '400' });
  await sink.start();
  try {
    const err = await failureOf(sink.deliver(lines(3)));
    assert.instance(err, DeliveryError);
    assert.ok((err as DeliveryError).message.includes('HTTP 500 boom'));
    const first = (err as DeliveryError).retryAfterMs!;
    assert.ok(first > 0);
    assert.is(sink.counters.details?.().state, 'backoff');
    let last = first;
    for (let i = 0; i < 6; i++) last = ((await failureOf(sink.deliver(lines(3)))) as DeliveryError).retryAfterMs!;
    assert.ok(last >= 200 && last <= 400, `capped: ${last}`);
    assert.is(sink.counters.get('BackoffMs'), last);
    up = true;
    await sink.deliver(lines(3));
    assert.is(sink.counters.get('BackoffMs'), 0);
    assert.is(sink.counters.details?.().consecutiveFailures, 0);
  } finally {
    await sink.stop();
    await s.close();
  }
});

test('Retry-After in seconds is honoured: a long one goes to the runner, a short one is waited inline', async () => {
  const s = await scripted((n) => (n === 0 ? { status: 429, headers: { 'retry-after': '3' } } : n === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 }));
  const sink = sinkOf({ type: 'http', endpoint: s.url, ...quick });
  await sink.start();
  try {
    const err = (await failureOf(sink.deliver(lines(1)))) as DeliveryError;
    assert.instance(err, DeliveryError);
    assert.ok(err.retryAfterMs! >= 3000, `retryAfterMs ${err.retryAfterMs} honours Retry-After: 3 over maxBackoff 200`);
    assert.is(s.got.length, 1, 'no inline retry before the server said');
    const t0 = Date.now();
    await sink.deliver(lines(1));
    assert.ok(Date.now() - t0 >= 950, `waited ${Date.now() - t0} ms for Retry-After: 1`);
    assert.is(s.got.length, 3);
  } finally {
    await sink.stop();
    await s.close();
  }
});

test('Retry-After as an HTTP-date', async () => {
  const s = await scripted(() => ({ status: 503, headers: { 'retry-after': new Date(Date.now() + 5000).toUTCString() } }));
  const sink = sinkOf({ type: 'http', endpoint: s.url, ...quick });
  await sink.start();
  try {
    const err = (await failureOf(sink.deliver(lines(1)))) as DeliveryError;
    assert.ok(err.retryAfterMs! >= 3000 && err.retryAfterMs! <= 5000, `retryAfterMs ${err.retryAfterMs}`);
  } finally {
    await sink.stop();
    await s.close();
  }
});

test('connection refused, then the server comes up: every event arrives once, in order', async () => {
  // find a free port, then leave it closed
  const probe = await scripted(() => ({ status: 200 }));
  const port = probe.port;
  await probe.close();
  const sink = sinkOf({ type: 'http', endpoint: `http://127.0.0.1:${port}/`, batchSize: '10', ...quick });
  await sink.start();
  let s: Scripted | undefined;
  try {
    const events = lines(50);
    const driving = drive(sink, events, 10);
    await until('refused connections past the inline retries', () => sink.counters.get('ConnectionFailedCount') >= 6);
    assert.is(sink.counters.get('LastStatus'), 0);
    s = await scripted(() => ({ status: 200 }), port);
    const throws = await driving;
    assert.ok(throws >= 1, 'the outage reached the runner as a DeliveryError');
    assert.is(s.got.map((g) => g.body).join('\n'), events.map((e) => Buffer.from(e.body).toString()).join('\n'));
    assert.ok(sink.counters.get('EventWriteFail') > 0);
  } finally {
    await sink.stop();
    await s?.close();
  }
});

test('requestTimeout: a server that never answers is abandoned and the batch retried', async () => {
  const s = await scripted((n) => (n === 0 ? 'hang' : { status: 200 }));
  const sink = sinkOf({ type: 'http', endpoint: s.url, requestTimeout: '200', ...quick });
  await sink.start();
  try {
    const t0 = Date.now();
    await drive(sink, lines(2), 2);
    assert.ok(Date.now() - t0 >= 200);
    assert.equal(s.got.map((g) => g.status), ['hang', 200]);
    assert.is(s.got[1].body, 'e0\ne1');
    assert.ok(sink.counters.get('RetryCount') >= 1);
    assert.ok(String(sink.counters.details?.().lastError ?? '').length === 0, 'cleared by the success');
  } finally {
    await sink.stop();
    await s.close();
  }
});

test('400 with the default policy rolls back like Flume (nothing dropped)', async () => {
  const s = await scripted(() => ({ status: 400, body: 'bad' }));
  const sink = sinkOf({ type: 'http', endpoint: s.url, ...quick });
  await sink.start();
  try {
    const err = await failureOf(sink.deliver(lines(4)));
    assert.instance(err, DeliveryError);
    assert.is(sink.counters.get('EventsDropped'), 0);
    assert.is(sink.counters.get('ResponseCount4xx') >= 1, true);
  } finally {
    await sink.stop();
    await s.close();
  }
});

test('400 with onReject = drop commits, counts the drop, and sends the next batch', async () => {
  const s = await scripted((n) => (n === 0 ? { status: 400 } : { status: 200 }));
  const sink = sinkOf({ type: 'http', endpoint: s.url, onReject: 'drop', ...quick });
  await sink.start();
  try {
    await sink.deliver(lines(4));
    assert.is(sink.counters.get('EventsDropped'), 4);
    assert.is(sink.counters.get('EventWriteFail'), 4);
    assert.is(s.got.length, 1, 'not retried');
    await sink.deliver(lines(1));
    assert.is(s.got.length, 2);
  } finally {
    await sink.stop();
    await s.close();
  }
});

test('400 with rollback.400 = false (Flume\'s way) is committed without success: a counted drop', async () => {
  const s = await scripted(() => ({ status: 400 }));
  const sink = sinkOf({ type: 'http', endpoint: s.url, 'rollback.400': 'false', 'backoff.400': 'false', ...quick });
  await sink.start();
  try {
    await sink.deliver(lines(2));
    assert.is(sink.counters.get('EventsDropped'), 2);
  } finally {
    await sink.stop();
    await s.close();
  }
});

test('400 with dlqDir writes the rejected batch to a file, headers and all', async () => {
  const t = tempDir();
  const s = await scripted(() => ({ status: 422 }));
  const sink = sinkOf({ type: 'http', endpoint: s.url, dlqDir: join(t.dir, 'dlq'), ...quick });
  await sink.start();
  try {
    await sink.deliver([eventOf('kept', { host: 'h1' }), eventOf(new Uint8Array([0xc3]), { host: 'h2' })]);
    assert.is(sink.counters.get('EventsDeadLettered'), 2);
    assert.is(sink.counters.get('EventsDropped'), 0);
    const files = readdirSync(join(t.dir, 'dlq'));
    assert.is(files.length, 1);
    assert.match(files[0], /^k1-\d+-1-422\.ndjson$/);
    const objs = readFileSync(join(t.dir, 'dlq', files[0]), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(objs, [{ headers: { host: 'h1' }, body: 'kept' }, { headers: { host: 'h2' }, body_base64: 'ww==' }]);
  } finally {
    await sink.stop();
    await s.close();
    t.cleanup();
  }
});

test('a dead-letter write that fails rolls the batch back instead of losing it', async () => {
  const t = tempDir();
  const s = await scripted(() => ({ status: 400 }));
  // a file where the directory should be: mkdir fails
  const blocked = join(t.dir, 'file');
  (await import('node:fs')).writeFileSync(blocked, 'x');
  const sink = sinkOf({ type: 'http', endpoint: s.url, dlqDir: join(blocked, 'dlq'), ...quick });
  await sink.start();
  try {
    const err = await failureOf(sink.deliver(lines(1)));
    assert.instance(err, DeliveryError);
    assert.is(sink.counters.get('EventsDeadLettered'), 0);
  } finally {
    await sink.stop();
    await s.close();
    t.cleanup();
  }
});

test('stop() during a backoff ends deliver at once with a DeliveryError', async () => {
  const s = await scripted(() => ({ status: 503, headers: { 'retry-after': '1' } }));
  const sink = sinkOf({ type: 'http', endpoint: s.url, ...quick });
  await sink.start();
  try {
    const pending = failureOf(sink.deliver(lines(1)));
    await until('the first 503', () => s.got.length >= 1);
    const t0 = Date.now();
    await sink.stop();
    const err = await pending;
    assert.instance(err, DeliveryError);
    assert.ok(Date.now() - t0 < 500, 'did not sleep out the Retry-After');
  } finally {
    await sink.stop();
    await s.close();
  }
});

test('with the real SinkRunner and a memory channel: an outage of 503s, then every event arrives once, in order', async () => {
  let up = false;
  const s = await scripted(() => (up ? { status: 200 } : { status: 503 }));
  const channel = new MemoryChannel('c1', { capacity: 10_000, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 100 });
  const sink = sinkOf({ type: 'http', endpoint: s.url, format: 'ndjson', batchSize: '25', ...quick });
  const runner = new SinkRunner(sink, channel, { ...DEFAULT_RUNNER, batchSize: 25, backoffBaseMs: 20, maxBackoffMs: 200 }, new Logger({ write: () => {} }));
  await channel.start();
  await runner.start();
  try {
    for (let i = 0; i < 200; i += 50) await channel.put(Array.from({ length: 50 }, (_, k) => eventOf(`e${i + k}`, { seq: String(i + k) })));
    await until('the sink in backoff', () => sink.counters.details?.().state === 'backoff' && channel.size === 200);
    up = true;
    await until('the channel drained', () => channel.size === 0, 10_000);
    const seqs = s.got.filter((g) => g.status === 200).flatMap((g) => g.body.trimEnd().split('\n').map((l) => Number(JSON.parse(l).headers.seq)));
    assert.equal(seqs, Array.from({ length: 200 }, (_, i) => i));
    assert.is(sink.counters.get('EventDrainSuccessCount'), 200);
  } finally {
    await runner.stop();
    await channel.stop();
    await s.close();
  }
});

test('a delivery that fails is warned about once, by the runner, with the receiver\'s answer and without the sink named twice', async () => {
  const s = await scripted((n) => (n < 12 ? { status: 503, body: 'busy' } : { status: 200 }));
  const logged: string[] = [];
  const log = new Logger({ write: (l) => logged.push(l) });
  const channel = new MemoryChannel('c1', { capacity: 1000, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 100 });
  const sink = sinkOf({ type: 'http', endpoint: s.url, batchSize: '10', ...quick }, log);
  const runner = new SinkRunner(sink, channel, { ...DEFAULT_RUNNER, batchSize: 10, backoffBaseMs: 20, maxBackoffMs: 200 }, log);
  await channel.start();
  await runner.start();
  try {
    await channel.put(lines(10));
    await until('delivered', () => sink.counters.get('EventDrainSuccessCount') === 10, 10_000);
    const warns = logged.filter((l) => l.includes(' WARN '));
    // 12 failed requests: each delivery makes its inline attempts, then hands the wait to the runner
    const deliveries = warns.filter((l) => l.includes('delivery of 10 events failed'));
    assert.ok(deliveries.length >= 2, logged.join(''));
    assert.is(warns.length, deliveries.length, `one line per failed delivery:\n${warns.join('')}`);
    // one failure counted per failed delivery, whatever its size (EventWriteFail counts the events of each request)
    assert.is(sink.counters.get('DeliveryFailCount'), deliveries.length);
    assert.ok(sink.counters.get('EventWriteFail') >= 10 * deliveries.length);
    deliveries.forEach((l, i) => {
      assert.match(l, `(attempt ${i + 1}), rolled back`);
      assert.match(l, `: ${s.url}: HTTP 503 busy`);
      assert.not.match(l, 'sink k1:');
    });
  } finally {
    await runner.stop();
    await channel.stop();
    await s.close();
  }
});

test.run();
