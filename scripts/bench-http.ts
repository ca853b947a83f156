/**
 * HTTP sink throughput against the receiver's own ceiling, measured in the same run.
 *
 *   node --import tsx scripts/bench-http.ts            (also: bun scripts/bench-http.ts, deno run -A scripts/bench-http.ts)
 *   BENCH_ROUNDS=12 BENCH_SLICE_MS=250 BENCH_BATCH=100 BENCH_INFLIGHT=1 node --import tsx scripts/bench-http.ts
 *
 * A receiver runs in a child process (its own core) on 127.0.0.1: it reads each
 * request, gunzips it when gzipped, counts the ndjson lines and answers 200.
 * For each case (ndjson; ndjson + gzip at the default level 6 and at level 1):
 *   - ceiling: a plain node:http keep-alive client posting the *already
 *     encoded* (and already gzipped) bodies back to back, one in flight — the
 *     most this receiver takes from one connection;
 *   - fetch:   the same bodies through the runtime's global fetch, for the
 *     client choice (node:http vs fetch);
 *   - sink:    the HttpSink fed batches of `BENCH_BATCH` events the way the
 *     runner feeds it (deliver, await, next), encoding and compressing itself.
 * Each round runs a short slice of ceiling, fetch and sink in turn; events/s
 * are the median slices, and each ratio is the median of the per-round ratios
 * (paired), so a load swing on a shared machine hits both sides alike.
 */
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { gunzipSync, gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { ComponentContext, type Entry } from '../src/config/context.ts';
import { Problems } from '../src/config/problems.ts';
import { Logger } from '../src/core/log.ts';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import { httpSinkSpec } from '../src/sinks/http/spec.ts';
import { encodeBatch } from '../src/sinks/http/encode.ts';

/** Each measurement is a short slice; slices of the three clients alternate so load swings hit all alike. */
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 250);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
/** Batches in flight at once (the sink's `concurrency`, and as many posts for the ceiling). 1 is the ordered default. */
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 1);

if (process.argv.includes('--receiver')) {
  receiver();
} else {
  await main();
}

function receiver(): void {
  let events = 0;
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let body = Buffer.concat(parts);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      // count lines the way a log backend would have to find them
      for (let i = body.indexOf(10); i !== -1; i = body.indexOf(10, i + 1)) events++;
      res.end();
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const port = (server.address() as import('node:net').AddressInfo).port;
    process.stdout.write(`${port}\n`);
  });
  process.stdin.on('data', () => process.stdout.write(`${events}\n`));
  process.stdin.on('end', () => process.exit(0));
}

function runtimeName(): string {
  if (process.versions.bun) return `bun ${process.versions.bun}`;
  if ('Deno' in globalThis) return `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

function spawnReceiver(): Promise<{ child: ChildProcess; port: number }> {
  const script = fileURLToPath(import.meta.url);
  const args = process.versions.bun
    ? [script, '--receiver']
    : 'Deno' in globalThis
      ? ['run', '-A', script, '--receiver']
      : ['--import', 'tsx', script, '--receiver'];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve({ child, port: Number(d.toString().trim()) }));
    child.once('error', reject);
  });
}

function makeBatches(): FlumeEvent[][] {
  const batches: FlumeEvent[][] = [];
  let n = 0;
  for (let b = 0; b < 200; b++) {
    const batch: FlumeEvent[] = [];
    for (let i = 0; i < BATCH; i++, n++) {
      const line = `2026-01-01T00:00:${String(n % 60).padStart(2, '0')}.123Z INFO [worker-${n % 8}] request id=${n.toString(16)} path=/api/v1/items/${n % 997} status=200 duration_ms=${n % 250} user_agent="Mozilla/5.0 (X11; Linux x86_64)"`;
      batch.push(eventOf(line, { host: 'web-01', file: '/var/log/app/access.log' }));
    }
    batches.push(batch);
  }
  return batches;
}

/** Runs `step` back to back for one slice (after a short warm-up); returns events/s. */
async function timed(step: (i: number) => Promise<number>): Promise<number> {
  const warm = Date.now() + 50;
  let i = 0;
  while (Date.now() < warm) await step(i++);
  let events = 0;
  const t0 = performance.now();
  const end = t0 + SLICE_MS;
  while (performance.now() < end) events += await step(i++);
  return events / ((performance.now() - t0) / 1000);
}

function plainPoster(port: number, gz: boolean): { post: (body: Buffer) => Promise<void>; close: () => void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: INFLIGHT });
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
  if (gz) headers['content-encoding'] = 'gzip';
  return {
    post: (body) =>
      new Promise<void>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/', method: 'POST', agent, headers: { ...headers, 'content-length': String(body.byteLength) } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

function fetchPoster(port: number, gz: boolean): (body: Buffer) => Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
  if (gz) headers['content-encoding'] = 'gzip';
  return async (body) => {
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body, headers });
    await res.arrayBuffer();
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const { child, port } = await spawnReceiver();
  const batches = makeBatches();
  const log = new Logger({ write: () => {} });
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(10);
  console.log(`bench-http on ${runtimeName()}: ${INFLIGHT} batch(es) in flight, batch ${BATCH} events (~${batches[0].reduce((s, e) => s + e.body.byteLength, 0) / BATCH | 0} B bodies), ${ROUNDS} rounds × ${SLICE_MS} ms slices per case, receiver in a child process`);
  let failed = false;
  for (const level of [0, 6, 1]) {
    const gz = level > 0;
    const bodies = batches.map((b) => {
      const raw = encodeBatch(b, 'ndjson', Infinity)[0].body;
      return gz ? gzipSync(raw, { level }) : raw;
    });
    const props: Record<string, string> = { endpoint: `http://127.0.0.1:${port}/`, format: 'ndjson', batchSize: String(BATCH), compression: gz ? 'gzip' : 'none', concurrency: String(INFLIGHT) };
    if (gz) props.compressionLevel = String(level);
    const entries = new Map<string, Entry>(Object.entries(props).map(([k, v]) => [k, { value: v, line: 1 }]));
    const problems = new Problems('bench');
    const opts = httpSinkSpec.parse(new ComponentContext('bench.sinks.k1', entries, problems, 1));
    if (problems.errors.length) throw new Error(JSON.stringify(problems.errors));
    const sink = httpSinkSpec.create(opts, { name: 'k1', log, out: { write: () => {} } });
    await sink.start();
    const plain = plainPoster(port, gz);
    const viaFetch = fetchPoster(port, gz);

    const ceil: number[] = [];
    const fet: number[] = [];
    const snk: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // INFLIGHT batches at once: i is the step, k the slot
      const each = async (f: (j: number) => Promise<unknown>, i: number): Promise<number> => {
        await Promise.all(Array.from({ length: INFLIGHT }, (_, k) => f(i * INFLIGHT + k)));
        return BATCH * INFLIGHT;
      };
      ceil.push(await timed((i) => each((j) => plain.post(bodies[j % bodies.length]), i)));
      fet.push(await timed((i) => each((j) => viaFetch(bodies[j % bodies.length]), i)));
      snk.push(await timed((i) => each((j) => sink.deliver(batches[j % batches.length]), i)));
    }
    await sink.stop();
    plain.close();
    const c = median(ceil);
    const f = median(fet);
    const s = median(snk);
    // each round's sink slice is compared with the ceiling slice right before it (paired), then the median taken
    const ratio = median(snk.map((x, k) => x / ceil[k]));
    const fratio = median(fet.map((x, k) => x / ceil[k]));
    if (ratio < 0.7) failed = true;
    console.log(`\nndjson${gz ? ` + gzip level ${level}${level === 6 ? ' (default)' : ''}` : ''} (${(bodies.reduce((a, b) => a + b.byteLength, 0) / bodies.length / 1024).toFixed(1)} KiB per request on the wire)`);
    console.log(`  ceiling (node:http, pre-encoded)  ${fmt(c)} events/s`);
    console.log(`  fetch   (pre-encoded)             ${fmt(f)} events/s   ${fratio.toFixed(2)}× ceiling`);
    console.log(`  HttpSink (encode${gz ? ' + gzip' : ''} + send)       ${fmt(s)} events/s   ${ratio.toFixed(2)}× ceiling  ${ratio >= 0.7 ? 'OK (target ≥ 0.70)' : 'BELOW TARGET 0.70'}`);
  }
  // check the receiver saw events (it counts lines)
  const counted = await new Promise<number>((resolve) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.stdin!.write('count\n');
  });
  console.log(`\nreceiver counted ${counted.toLocaleString('en-US')} events`);
  child.stdin!.end();
  process.exitCode = failed ? 1 : 0;
}
