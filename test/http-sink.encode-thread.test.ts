import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { Logger } from '../src/core/log.ts';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import { encodePutBatch, PUT_FIRST_ENTRY, spanEntries, type EntryRun } from '../src/channels/file/framing.ts';
import { encodeRuns } from '../src/sinks/http/encode.ts';
import { BufferPool, EncodeThread, EncodeThreadError } from '../src/sinks/http/encode-thread.ts';
import { DeliveryError } from '../src/core/errors.ts';
import { httpSinkSpec, type HttpSinkOptions } from '../src/sinks/http/spec.ts';
import { contextOf } from './helpers/context.ts';
import { runtimeAvailable, startCli } from './helpers/cli.ts';
import { Receiver } from './helpers/receiver.ts';
import { tempDir, until } from './helpers/poll.ts';
import { freePort } from './helpers/net.ts';

/** A take's records as the file channel hands them out: `events` put as one batch, cut into runs of `per` entries. */
function runsOf(events: FlumeEvent[], per = events.length): EntryRun[] {
  const frame = encodePutBatch(events, 1);
  const runs: EntryRun[] = [];
  for (let p = PUT_FIRST_ENTRY; p < frame.length; ) {
    const { stop, count } = spanEntries(frame, p, frame.length, per);
    runs.push({ buf: frame, from: p, to: stop, count });
    p = stop;
  }
  return runs;
}

const mixed = (n: number, from = 0): FlumeEvent[] =>
  Array.from({ length: n }, (_, i) => {
    const k = from + i;
    const body = k % 7 === 3 ? Buffer.from([0x66, 0xff, 0xfe, k & 0xff]) : Buffer.from(`"GET /x?id=${k}" \\ tab\there ünï ${'z'.repeat(k % 50)}`);
    return eventOf(body, k % 5 === 0 ? { file: '/var/log/a.log', n: String(k) } : { file: '/var/log/b.log' });
  });

const oneFile = (n: number, from = 0): FlumeEvent[] => mixed(n, from).map((e) => eventOf(e.body, { file: '/var/log/app.log' }));

test('the thread makes the same bodies as encodeRuns on the event loop: ndjson, json, cut at the byte cap, gzip', async () => {
  const thread = new EncodeThread();
  try {
    for (const format of ['ndjson', 'json'] as const) {
      for (const cap of [1 << 20, 700]) {
        for (const level of [0, 1]) {
          // many batches in a row, bodies given back each time: reused buffers must never show old bytes
          for (let b = 0; b < 12; b++) {
            // odd batches: one file's lines, whose entries after a record's first say SAME_AS_FIRST (runs start mid-record)
            const runs = runsOf(b % 2 ? oneFile(40 + b * 13, b * 1000) : mixed(40 + b * 13, b * 1000), 17);
            const want = encodeRuns(runs, format, cap);
            const got = await thread.encode(runs, format, cap, level);
            assert.is(got.length, want.length, `${format} cap ${cap}: requests`);
            for (let i = 0; i < want.length; i++) {
              const body = level > 0 ? gunzipSync(got[i].body) : got[i].body;
              assert.ok(body.equals(want[i].body), `${format} cap ${cap} gzip ${level} batch ${b} request ${i}`);
              assert.is(got[i].first, want[i].first);
              assert.is(got[i].count, want[i].count);
            }
            thread.release(got);
          }
        }
      }
    }
    // several in flight at once come back in order, each its own
    const batches = Array.from({ length: 6 }, (_, b) => runsOf(mixed(200, b * 500)));
    const all = await Promise.all(batches.map((r) => thread.encode(r, 'ndjson', 1 << 20, 0)));
    all.forEach((got, b) => assert.ok(got[0].body.equals(encodeRuns(batches[b], 'ndjson', 1 << 20)[0].body), `concurrent batch ${b}`));
    assert.is(thread.failure, undefined);
  } finally {
    await thread.close();
  }
});

test('a thread that cannot start fails every call with EncodeThreadError and says why', async () => {
  const { dir, cleanup } = tempDir();
  const thread = new EncodeThread(new URL(`file://${join(dir, 'missing-worker.mjs')}`));
  try {
    const runs = runsOf(mixed(5));
    const err = await thread.encode(runs, 'ndjson', 1 << 20, 0).then(() => undefined, (e: unknown) => e);
    assert.instance(err, EncodeThreadError);
    assert.match((err as Error).message, /encoder thread/);
    assert.instance(thread.failure, EncodeThreadError);
    // later calls do not try again
    const again = await thread.encode(runs, 'ndjson', 1 << 20, 0).then(() => undefined, (e: unknown) => e);
    assert.is(again, thread.failure);
  } finally {
    await thread.close();
    cleanup();
  }
});

/** A local endpoint that answers 200 and keeps every request body. */
async function bodyServer(): Promise<{ got: Buffer[]; url: string; close: () => Promise<void> }> {
  const got: Buffer[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      got.push(Buffer.concat(parts));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { got, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close };
}

/** A worker module that throws as it loads. */
const BROKEN = 'throw new Error("boom at load");\n';

/** ndjson sink options whose encoder thread runs `code` (a module written into `dir`) instead of the real worker. */
function withWorker(dir: string, code: string, endpoint = 'http://127.0.0.1:9/'): HttpSinkOptions {
  const file = join(dir, 'test-worker.mjs');
  writeFileSync(file, code);
  // every take goes to the thread, however small: these tests are about the thread
  return { ...parseHttp({ type: 'http', endpoint, format: 'ndjson', encodeThreadMinBatch: '1' }), encodeThreadModule: pathToFileURL(file) };
}

const FAILING: [string, string, RegExp][] = [
  ['fails as it loads', BROKEN, /encoder thread failed: .*boom at load.*encoding on the event loop from now on/],
  ['dies with a batch in its hands', "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(3));\n", /encoder thread exited \(code 3\).*encoding on the event loop from now on/],
];
for (const [what, code, says] of FAILING) test(`the HTTP sink falls back to the event loop when its thread ${what}: every batch delivered, the fallback logged`, async () => {
  const { dir, cleanup } = tempDir();
  const { got, url, close } = await bodyServer();
  const logged: string[] = [];
  const log = new Logger({ write: (s: string) => logged.push(s) });
  const opts = withWorker(dir, code, url);
  const sink = httpSinkSpec.create(opts, { name: 'k1', log, out: { write: () => {} } });
  await sink.start();
  try {
    const events = mixed(30);
    const runs = runsOf(events, 7);
    assert.equal(await sink.deliverRaw!(runs, () => events), { rejected: 0 });
    assert.equal(await sink.deliverRaw!(runs, () => events), { rejected: 0 });
    assert.is(got.length, 2);
    assert.ok(got[0].equals(encodeRuns(runs, 'ndjson', 1 << 20)[0].body), 'the body is what the thread would have made');
    assert.match(logged.join(''), says);
    assert.is((sink.counters.details?.() as { encoder: string }).encoder, 'event loop');
  } finally {
    await sink.stop();
    await close();
    cleanup();
  }
});

test('with a channel whose takes are records, the sink starts its thread when it starts, not at the first batch', async () => {
  const { dir, cleanup } = tempDir();
  const opts = withWorker(dir, BROKEN);
  const log = new Logger({ write: () => {} });
  const encoder = (k: ReturnType<typeof httpSinkSpec.create>): string => (k.counters.details?.() as { encoder: string }).encoder;
  const eager = httpSinkSpec.create(opts, { name: 'k1', log, out: { write: () => {} }, rawTakes: true });
  const lazy = httpSinkSpec.create(opts, { name: 'k2', log, out: { write: () => {} }, rawTakes: false });
  await eager.start();
  await lazy.start();
  try {
    // the broken module only fails once a thread tries to load it: no batch was delivered to either sink
    await until('the eager sink\'s thread to have tried (and failed) to start', () => encoder(eager) === 'event loop', 10_000);
    assert.is(encoder(lazy), 'thread', 'the lazy sink has not started a thread');
  } finally {
    await eager.stop();
    await lazy.stop();
    cleanup();
  }
});

test('stopping the sink while the thread holds a batch gives the batch back to the channel, without a warning', async () => {
  const { dir, cleanup } = tempDir();
  // a thread that takes batches and never answers: the batch is in its hands when the sink stops
  const logged: string[] = [];
  const opts = withWorker(dir, "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => {});\n");
  const sink = httpSinkSpec.create(opts, { name: 'k1', log: new Logger({ write: (t: string) => logged.push(t) }), out: { write: () => {} }, rawTakes: true });
  await sink.start();
  try {
    const events = mixed(10);
    const delivery = sink.deliverRaw!(runsOf(events), () => events).then(() => undefined, (e: unknown) => e);
    await sink.stop();
    const err = await delivery;
    assert.instance(err, DeliveryError);
    assert.match((err as Error).message, /stopped; the batch stays in the channel/);
    assert.not.match(logged.join(''), /encoder thread|event loop/);
  } finally {
    cleanup();
  }
});

test('a take smaller than encodeThreadMinBatch is encoded on the event loop; one as large goes to the thread', async () => {
  const { dir, cleanup } = tempDir();
  const { got, url, close } = await bodyServer();
  // a thread that notes each batch it is handed and never answers: a batch given to it is never delivered
  const marker = join(dir, 'handed');
  const worker = `import { parentPort } from 'node:worker_threads';\nimport { appendFileSync } from 'node:fs';\nparentPort.on('message', (m) => appendFileSync(${JSON.stringify(marker)}, m.runs.reduce((n, r) => n + r.count, 0) + '\\n'));\n`;
  const opts = { ...withWorker(dir, worker, url), encodeThreadMinBatch: 20 };
  const sink = httpSinkSpec.create(opts, { name: 'k1', log: new Logger({ write: () => {} }), out: { write: () => {} }, rawTakes: true });
  await sink.start();
  try {
    const small = mixed(19);
    const delivered = await Promise.race([
      sink.deliverRaw!(runsOf(small, 7), () => small),
      new Promise((r) => setTimeout(() => r('not delivered within 10 s: it went to the thread'), 10_000)),
    ]);
    assert.equal(delivered, { rejected: 0 }, 'delivered without the thread');
    assert.ok(got[0].equals(encodeRuns(runsOf(small, 7), 'ndjson', 1 << 20)[0].body), 'the same body the thread would make');
    assert.not.ok(existsSync(marker), 'the thread was not handed the small take');
    const large = mixed(20);
    const held = sink.deliverRaw!(runsOf(large, 7), () => large).then(() => 'delivered', (e: unknown) => e);
    await until('the thread to be handed the large take', () => existsSync(marker) && readFileSync(marker, 'utf8') === '20\n');
    await sink.stop();
    assert.instance(await held, DeliveryError, 'the batch goes back to the channel');
    assert.is(got.length, 1, 'nothing more was sent');
  } finally {
    await sink.stop();
    await close();
    cleanup();
  }
});

test('encodeThreadMinBatch above batchSize is a warning naming both: no take would reach the thread', () => {
  const { ctx, problems } = contextOf('a1.sinks.k1', { type: 'http', endpoint: 'http://127.0.0.1:9/', format: 'ndjson', batchSize: 100, encodeThreadMinBatch: 500 });
  ctx.markUsed('type');
  const opts = httpSinkSpec.parse(ctx);
  assert.is(opts.encodeThreadMinBatch, 500);
  assert.equal(problems.errors, []);
  assert.equal(problems.warnings.map((w) => [w.key, w.found, w.expected]), [['a1.sinks.k1.encodeThreadMinBatch', '500, above batchSize 100: no take reaches the encoder thread', 'at most batchSize']]);
  assert.is(parseHttp({ type: 'http', endpoint: 'http://127.0.0.1:9/', format: 'ndjson' }).encodeThreadMinBatch, 1, 'every take goes to the thread by default');
});

test('the buffer pool reuses what fits and keeps no huge buffer', () => {
  const pool = new BufferPool(2);
  const a = pool.take(100_000);
  assert.is(a.byteLength, 100_000);
  pool.give(a.buffer);
  const b = pool.take(120_000);
  assert.is(b.buffer, a.buffer, 'a buffer rounded up for growth is reused by a slightly bigger batch');
  const huge = pool.take(10 << 20);
  pool.give(huge.buffer);
  assert.is.not(pool.take(10 << 20).buffer, huge.buffer, 'a 10 MB buffer is not kept');
  pool.give(new ArrayBuffer(300_000));
  pool.give(new ArrayBuffer(300_000));
  pool.give(new ArrayBuffer(300_000));
  let kept = 0;
  for (let i = 0; i < 3; i++) if (pool.take(1).buffer.byteLength === 300_000) kept++;
  assert.is(kept, 2, 'no more than `keep` buffers');
});

/** The sink's options as the config layer parses them. */
function parseHttp(props: Record<string, string>): HttpSinkOptions {
  const { ctx, problems } = contextOf('a1.sinks.k1', props);
  ctx.markUsed('type');
  const opts = httpSinkSpec.parse(ctx);
  assert.equal(problems.list, [], 'no config problems');
  return opts;
}

// The thread's module is found differently from the sources, the JS build and Bun's compiled binary:
// quick mode with --http must deliver every line through it under each runtime, with no fallback (under
// Deno, whose default is the event loop, a config with encodeThread = true).
for (const runtime of ['node', 'bun', 'deno', 'binary'] as const) {
  test(`--watch --http delivers every line through the encoder thread under ${runtime}`, async () => {
    assert.ok(runtimeAvailable(runtime), `${runtime} is not installed/built (npm ci; npm run build)`);
    const { dir, cleanup } = tempDir();
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    const n = 5000;
    writeFileSync(join(logs, 'app.log'), Array.from({ length: n }, (_, i) => `line "${i}" \\ ${'x'.repeat(i % 90)}\n`).join(''));
    const rec = new Receiver();
    const port = await rec.listen();
    const mon = await freePort();
    // Deno encodes on its event loop by default (its worker is a runtime of its own): a config asks for the thread
    const conf = join(dir, 'agent.properties');
    writeFileSync(conf, [
      'a.sources = tail', 'a.channels = ch', 'a.sinks = out',
      'a.sources.tail.type = TAILDIR', `a.sources.tail.paths = ${logs}`, `a.sources.tail.positionFile = ${join(dir, 'state', 'pos.json')}`,
      'a.sources.tail.batchSize = 1000', 'a.sources.tail.channels = ch',
      'a.channels.ch.type = file', `a.channels.ch.checkpointDir = ${join(dir, 'state', 'cp')}`, `a.channels.ch.dataDirs = ${join(dir, 'state', 'data')}`,
      'a.sinks.out.type = http', `a.sinks.out.endpoint = http://127.0.0.1:${port}/`, 'a.sinks.out.format = ndjson', 'a.sinks.out.batchSize = 2000',
      'a.sinks.out.encodeThread = true', 'a.sinks.out.channel = ch', '',
    ].join('\n'));
    const args = runtime === 'deno'
      ? ['agent', '-n', 'a', '-f', conf, '--metrics-port', String(mon)]
      : ['--watch', logs, '--from-beginning', '--data-dir', join(dir, 'state'), '--http', `http://127.0.0.1:${port}/`, '--metrics-port', String(mon)];
    const cli = startCli(args, { runtime });
    try {
      await until(() => `${rec.bodies.length} of ${n} lines arrived; stderr:\n${cli.stderr}`, () => rec.bodies.length >= n, 60_000);
      const want = Array.from({ length: n }, (_, i) => `line "${i}" \\ ${'x'.repeat(i % 90)}`);
      assert.equal([...rec.bodies].sort(), [...want].sort(), 'every line once, byte for byte');
      assert.not.match(cli.stderr, /encoder thread/, 'the thread started (no fallback to the event loop)');
      assert.is(await encoderOf(mon), 'thread', 'the sink says it encodes on its thread');
      cli.kill('SIGTERM');
      const { code } = await cli.exited;
      assert.is(code, 0, cli.stderr);
    } finally {
      cli.kill('SIGKILL');
      await rec.close();
      cleanup();
    }
  });
}

/** Where the agent's HTTP sink makes its bodies, as its /snapshot says. */
async function encoderOf(mon: number): Promise<unknown> {
  const snap = (await (await fetch(`http://127.0.0.1:${mon}/snapshot`)).json()) as { components: { kind: string; details?: { encoder?: unknown } }[] };
  return snap.components.find((c) => c.kind === 'SINK')?.details?.encoder;
}

test.run();
