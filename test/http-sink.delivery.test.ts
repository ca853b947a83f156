import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import https from 'node:https';
import { gunzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Logger } from '../src/core/log.ts';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import { DeliveryError } from '../src/core/errors.ts';
import { httpSinkSpec } from '../src/sinks/http/spec.ts';
import type { Sink } from '../src/sinks/sink.ts';
import { tempDir } from './helpers/poll.ts';
import { contextOf } from './helpers/context.ts';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A receiver on 127.0.0.1 that records every request (gunzipped when gzip) and answers 200. */
async function receiver(tls?: { key: Buffer; cert: Buffer }): Promise<{ url: string; got: Received[]; close: () => Promise<void> }> {
  const got: Received[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(parts);
      got.push({ headers: req.headers, body: req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw });
      res.end('ok');
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/ingest`,
    got,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** The sink built the way the config layer builds it: properties → ComponentContext → parse → create. */
function sinkOf(props: Record<string, string>, log = new Logger({ write: () => {} })): Sink {
  const { ctx, problems } = contextOf('a1.sinks.k1', props);
  ctx.markUsed('type'); // the config layer reads it
  const opts = httpSinkSpec.parse(ctx);
  ctx.reportUnknown(httpSinkSpec.keys);
  assert.equal(problems.list, [], 'no config problems');
  return httpSinkSpec.create(opts, { name: 'k1', log, out: { write: () => {} } });
}

const lines = (n: number, from = 0): FlumeEvent[] => Array.from({ length: n }, (_, i) => eventOf(`line ${from + i}`, { seq: String(from + i) }));

test('text: one event per batch is exactly Flume\'s request (the body only, text/plain)', async () => {
  const r = await receiver();
  const sink = sinkOf({ type: 'http', endpoint: r.url, batchSize: '1' });
  await sink.start();
  try {
    await sink.deliver([eventOf('hello flume', { h: 'not sent' })]);
    assert.is(r.got.length, 1);
    assert.is(r.got[0].body.toString(), 'hello flume');
    assert.is(r.got[0].headers['content-type'], 'text/plain');
    assert.is(r.got[0].headers.accept, 'text/plain');
    assert.is(r.got[0].headers.h, undefined);
  } finally {
    await sink.stop();
    await r.close();
  }
});

test('text: a batch is one request with the bodies joined by newlines', async () => {
  const r = await receiver();
  const sink = sinkOf({ type: 'http', endpoint: r.url });
  await sink.start();
  try {
    await sink.deliver(lines(3));
    assert.is(r.got.length, 1);
    assert.is(r.got[0].body.toString(), 'line 0\nline 1\nline 2');
  } finally {
    await sink.stop();
    await r.close();
  }
});

test('ndjson: one object per line with headers and body; invalid UTF-8 goes as body_base64', async () => {
  const r = await receiver();
  const sink = sinkOf({ type: 'http', endpoint: r.url, format: 'ndjson' });
  await sink.start();
  try {
    const binary = new Uint8Array([0x66, 0xff, 0xfe, 0x00]);
    await sink.deliver([eventOf('héllo "quoted"', { host: 'a' }), eventOf(binary, { kind: 'bin' })]);
    assert.is(r.got.length, 1);
    assert.is(r.got[0].headers['content-type'], 'application/x-ndjson');
    const text = r.got[0].body.toString();
    assert.ok(text.endsWith('\n'));
    const objs = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(objs[0], { headers: { host: 'a' }, body: 'héllo "quoted"' });
    assert.equal(objs[1], { headers: { kind: 'bin' }, body_base64: Buffer.from(binary).toString('base64') });
    assert.equal(new Uint8Array(Buffer.from(objs[1].body_base64, 'base64')), binary);
  } finally {
    await sink.stop();
    await r.close();
  }
});

test('json: the batch as one array', async () => {
  const r = await receiver();
  const sink = sinkOf({ type: 'http', endpoint: r.url, format: 'json' });
  await sink.start();
  try {
    await sink.deliver(lines(2));
    assert.is(r.got[0].headers['content-type'], 'application/json');
    assert.equal(JSON.parse(r.got[0].body.toString()), [
      { headers: { seq: '0' }, body: 'line 0' },
      { headers: { seq: '1' }, body: 'line 1' },
    ]);
  } finally {
    await sink.stop();
    await r.close();
  }
});

test('gzip: the body is compressed on the wire and the receiver decodes it', async () => {
  const r = await receiver();
  const sink = sinkOf({ type: 'http', endpoint: r.url, format: 'ndjson', compression: 'gzip' });
  await sink.start();
  try {
    await sink.deliver(lines(50));
    assert.is(r.got.length, 1);
    assert.is(r.got[0].headers['content-encoding'], 'gzip');
    const got = r.got[0].body.toString().trimEnd().split('\n').map((l) => JSON.parse(l).body);
    assert.equal(got, lines(50).map((e) => Buffer.from(e.body).toString()));
    assert.ok(sink.counters.get('RequestBytes') < r.got[0].body.byteLength, 'fewer bytes sent than decoded');
  } finally {
    await sink.stop();
    await r.close();
  }
});

test('maxBatchBytes splits a batch into several requests, in order, none over the cap', async () => {
  const r = await receiver();
  const sink = sinkOf({ type: 'http', endpoint: r.url, format: 'json', maxBatchBytes: '200' });
  await sink.start();
  try {
    await sink.deliver(lines(20));
    assert.ok(r.got.length > 1, `split into ${r.got.length} requests`);
    for (const g of r.got) assert.ok(g.body.byteLength <= 200, `request of ${g.body.byteLength} bytes`);
    const bodies = r.got.flatMap((g) => JSON.parse(g.body.toString()).map((o: { body: string }) => o.body));
    assert.equal(bodies, lines(20).map((e) => Buffer.from(e.body).toString()));
    assert.is(sink.counters.get('RequestCount'), r.got.length);
  } finally {
    await sink.stop();
    await r.close();
  }
});

test('concurrency 3: a split batch goes out as parallel requests, never more than 3 at once, each event once', async () => {
  let open = 0;
  let peak = 0;
  const got: string[] = [];
  const server = http.createServer((req, res) => {
    open++;
    peak = Math.max(peak, open);
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      got.push(...Buffer.concat(parts).toString().trimEnd().split('\n'));
      // answer a little later so requests overlap
      setTimeout(() => { open--; res.end(); }, 20);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const sink = sinkOf({ type: 'http', endpoint: url, format: 'ndjson', maxBatchBytes: '300', concurrency: '3' });
  await sink.start();
  try {
    await sink.deliver(lines(40));
    const seqs = got.map((l) => Number(JSON.parse(l).headers.seq)).sort((a, b) => a - b);
    assert.equal(seqs, lines(40).map((_, i) => i));
    assert.ok(sink.counters.get('RequestCount') > 3);
    assert.ok(peak > 1 && peak <= 3, `peak ${peak} requests in flight`);
  } finally {
    await sink.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('every event delivered exactly once and in order over many batches (concurrency 1)', async () => {
  const r = await receiver();
  const sink = sinkOf({ type: 'http', endpoint: r.url, format: 'ndjson', batchSize: '37' });
  await sink.start();
  try {
    const all = lines(1000);
    for (let i = 0; i < all.length; i += 37) await sink.deliver(all.slice(i, i + 37));
    const seqs = r.got.flatMap((g) => g.body.toString().trimEnd().split('\n').map((l) => Number(JSON.parse(l).headers.seq)));
    assert.equal(seqs, all.map((_, i) => i));
    assert.is(sink.counters.get('ResponseCount2xx'), Math.ceil(1000 / 37));
    assert.is(sink.counters.get('ConnectionCreatedCount'), 1, 'one keep-alive connection for every request');
  } finally {
    await sink.stop();
    await r.close();
  }
});

test('headers.NAME from the environment reaches the server and never the log or metrics', async () => {
  const r = await receiver();
  const secret = 'sk-test-1234567890';
  const logged: string[] = [];
  // the config layer substitutes ${TOKEN}; the sink gets the value
  const sink = sinkOf(
    { type: 'http', endpoint: r.url, 'headers.Authorization': `Bearer ${secret}`, 'headers.X-Tenant': 'acme' },
    new Logger({ write: (l) => logged.push(l) }, 'debug'),
  );
  await sink.start();
  try {
    await sink.deliver(lines(1));
    assert.is(r.got[0].headers.authorization, `Bearer ${secret}`);
    assert.is(r.got[0].headers['x-tenant'], 'acme');
    await r.close();
    // a failure (refused) is logged: the secret must not be in it, nor in counters/details
    await sink.deliver(lines(1)).catch(() => {});
    const text = logged.join('') + JSON.stringify(sink.counters.snapshot()) + JSON.stringify(sink.counters.details?.());
    assert.not.ok(text.includes(secret));
  } finally {
    await sink.stop();
  }
});

test('a server echoing the token in an error body has it masked in the error', async () => {
  const secret = 'tok-abcdef123456';
  const server = http.createServer((req, res) => {
    res.statusCode = 401;
    res.end(`bad credentials: ${req.headers.authorization}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const sink = sinkOf({ type: 'http', endpoint: url, 'headers.Authorization': `Bearer ${secret}`, maxBackoff: '50', initialBackoff: '10' });
  await sink.start();
  try {
    const err = await sink.deliver(lines(1)).then(() => undefined, (e: unknown) => e);
    assert.instance(err, DeliveryError);
    assert.ok((err as Error).message.includes('401'));
    assert.ok((err as Error).message.includes('***'));
    assert.not.ok((err as Error).message.includes(secret));
  } finally {
    await sink.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('https with a private CA: trusted via tls.caFile, refused without it, accepted with tls.insecure', async () => {
  let openssl = '';
  try {
    openssl = execFileSync('which', ['openssl']).toString().trim();
  } catch {
    openssl = '';
  }
  if (!openssl) {
    console.log('  skipped: openssl is not installed, so no private CA can be generated');
    return;
  }
  const t = tempDir();
  try {
    const run = (...args: string[]): void => { execFileSync(openssl, args, { cwd: t.dir, stdio: 'ignore' }); };
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=flume-tail test CA');
    run('req', ...ec, '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(t.dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
    run('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.crt', '-days', '1', '-extfile', 'ext');
    const r = await receiver({ key: readFileSync(join(t.dir, 'srv.key')), cert: readFileSync(join(t.dir, 'srv.crt')) });
    try {
      const trusted = sinkOf({ type: 'http', endpoint: r.url, 'tls.caFile': join(t.dir, 'ca.crt') });
      await trusted.start();
      await trusted.deliver([eventOf('over tls')]);
      await trusted.stop();
      assert.is(r.got.length, 1);
      assert.is(r.got[0].body.toString(), 'over tls');

      const untrusted = sinkOf({ type: 'http', endpoint: r.url, initialBackoff: '10', maxBackoff: '20' });
      await untrusted.start();
      const err = await untrusted.deliver([eventOf('nope')]).then(() => undefined, (e: unknown) => e);
      await untrusted.stop();
      assert.instance(err, DeliveryError);
      assert.is(r.got.length, 1, 'nothing sent to an unverified server');

      const insecure = sinkOf({ type: 'http', endpoint: r.url, 'tls.insecure': 'true' });
      await insecure.start();
      await insecure.deliver([eventOf('insecure')]);
      await insecure.stop();
      assert.is(r.got.length, 2);
    } finally {
      await r.close();
    }
  } finally {
    t.cleanup();
  }
});

test.run();
