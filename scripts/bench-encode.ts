/**
 * HTTP sink body encoding (ndjson), in-process: `encodeBatch` as it is in the
 * repo against the byte-loop encoder it replaced (copied below as the
 * baseline), on the same batches in the same run.
 *
 *   node --import tsx scripts/bench-encode.ts
 *   BENCH_ROUNDS=15 BENCH_BATCHES=200 BENCH_BATCH=1000 node --import tsx scripts/bench-encode.ts
 *   (also: bun scripts/bench-encode.ts, deno run -A scripts/bench-encode.ts)
 *
 * Workloads, each `BENCH_BATCHES` batches of `BENCH_BATCH` events with
 * headers `{file: '/var/log/app.log'}` (a fresh object per event, as TAILDIR
 * makes them) and bodies that are Uint8Array views into one buffer per batch:
 *   - plain:    ~170-byte ASCII lines with nothing to escape;
 *   - access:   the ~175-byte combined-log lines of scripts/lib/loggen.ts
 *               (six `"` each), what the end-to-end bench tails;
 *   - non-ascii: plain lines with a few UTF-8 characters.
 * Rounds alternate baseline and current; events/s are the medians, and the
 * ratio is the median of the per-round ratios, so a load swing on a shared
 * machine hits both sides alike.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import type { FlumeEvent } from '../src/core/event.ts';
import { encodeBatch, type Scratch } from '../src/sinks/http/encode.ts';
import { AccessLines } from './lib/loggen.ts';
import { fmt } from './lib/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 200);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);

// ---- baseline: the ndjson/json path of src/sinks/http/encode.ts before the word scan ----

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const jsonString = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);

function headersJson(h: Record<string, string>): string {
  let out = '{';
  for (const k in h) out += (out.length > 1 ? ',' : '') + jsonString(k) + ':' + jsonString(h[k]);
  return out + '}';
}

function sameHeaders(a: Record<string, string>, b: Record<string, string>): boolean {
  let n = 0;
  for (const k in b) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in a) n--;
  return n === 0;
}

const ESCAPE: readonly string[] = Array.from({ length: 0x20 }, (_, c) => JSON.stringify(String.fromCharCode(c)).slice(1, -1));

/** The baseline's reused output buffer (the repo's Scratch holds an escape arena now). */
interface BaselineScratch {
  buf?: Buffer;
}

class BaselineWriter {
  private buf: Buffer;
  private n = 0;
  private lastHeaders?: Record<string, string>;
  private lastPrefix = Buffer.alloc(0);

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  get backing(): Buffer {
    return this.buf;
  }

  get length(): number {
    return this.n;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.n);
  }

  private room(extra: number): void {
    if (this.n + extra <= this.buf.byteLength) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.byteLength * 2, this.n + extra));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.n++] = b;
  }

  text(s: string): void {
    this.room(s.length * 3);
    this.n += this.buf.write(s, this.n, 'utf8');
  }

  event(e: FlumeEvent): void {
    const body = e.body;
    if (isUtf8(body)) {
      this.raw(this.prefix(e.headers));
      this.escaped(body);
      this.room(2);
      this.buf[this.n++] = 0x22;
      this.buf[this.n++] = 0x7d;
    } else {
      const b64 = (Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)).toString('base64');
      this.text(`{"headers":${headersJson(e.headers)},"body_base64":"${b64}"}`);
    }
  }

  private raw(b: Buffer): void {
    this.room(b.byteLength);
    this.buf.set(b, this.n);
    this.n += b.byteLength;
  }

  private prefix(h: Record<string, string>): Buffer {
    const last = this.lastHeaders;
    if (last !== undefined && sameHeaders(last, h)) return this.lastPrefix;
    this.lastHeaders = { ...h };
    this.lastPrefix = Buffer.from(`{"headers":${headersJson(h)},"body":"`, 'utf8');
    return this.lastPrefix;
  }

  private escaped(src: Uint8Array): void {
    this.room(src.byteLength * 6);
    const out = this.buf;
    let o = this.n;
    const len = src.length;
    for (let i = 0; i < len; i++) {
      const c = src[i];
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
        out[o++] = c;
      } else if (c === 0x22 || c === 0x5c) {
        out[o++] = 0x5c;
        out[o++] = c;
      } else {
        o += out.write(ESCAPE[c], o, 'latin1');
      }
    }
    this.n = o;
  }
}

/** The baseline's ndjson encoding of a batch that fits in one request (the split is slicing, the same in both). */
function baselineNdjson(events: readonly FlumeEvent[], scratch: BaselineScratch): Buffer {
  let estimate = 64;
  for (let i = 0; i < events.length; i++) estimate += events[i].body.byteLength + 96;
  const w = new BaselineWriter(scratch.buf && scratch.buf.byteLength >= estimate ? scratch.buf : Buffer.allocUnsafe(estimate));
  const ends = new Array<number>(events.length);
  for (let i = 0; i < events.length; i++) {
    w.event(events[i]);
    w.byte(0x0a);
    ends[i] = w.length;
  }
  scratch.buf = w.backing;
  return w.bytes();
}

// ---- workloads ----

const LEVELS = ['INFO', 'WARN', 'DEBUG', 'ERROR'];

function plainLine(n: number): string {
  const t = new Date(Date.UTC(2024, 4, 1, 12, 0, 0) + n).toISOString();
  const pad = 'x'.repeat(50 + (n % 30));
  return `${t} ${LEVELS[n % 4]} [worker-${n % 8}] GET /api/v1/items/${n % 997} 200 ${1000 + (n % 9000)} t=${1732550000123456 + n} seq=${String(n).padStart(9, '0')} ${pad}`;
}

const access = new AccessLines();
const accessLine = (n: number): string => access.line(n, 1732550000123456 + n * 137).slice(0, -1);
const nonAsciiLine = (n: number): string => `${plainLine(n).slice(0, 120)} user=Jürgen café=${n % 10}€ 名前=${n % 97}`;

function batchesOf(line: (n: number) => string): FlumeEvent[][] {
  const enc = new TextEncoder();
  const out: FlumeEvent[][] = [];
  let n = 0;
  for (let b = 0; b < BATCHES; b++) {
    const lines = Array.from({ length: BATCH }, () => line(n++));
    const bytes = lines.map((l) => enc.encode(l));
    const joined = new Uint8Array(bytes.reduce((s, x) => s + x.byteLength + 1, 0));
    const batch: FlumeEvent[] = [];
    let off = 0;
    for (const x of bytes) {
      joined.set(x, off);
      batch.push({ headers: { file: '/var/log/app.log' }, body: new Uint8Array(joined.buffer, off, x.byteLength) });
      off += x.byteLength + 1;
      joined[off - 1] = 0x0a;
    }
    out.push(batch);
  }
  return out;
}

function runtimeName(): string {
  if (process.versions.bun) return `bun ${process.versions.bun}`;
  if ('Deno' in globalThis) return `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Events per second for one pass over all batches. */
function pass<S>(batches: FlumeEvent[][], encode: (events: FlumeEvent[], scratch: S) => Buffer, scratch: S): number {
  let bytes = 0;
  const t0 = performance.now();
  for (const batch of batches) bytes += encode(batch, scratch).byteLength;
  const s = (performance.now() - t0) / 1000;
  if (bytes === 0) throw new Error('nothing encoded');
  return (batches.length * BATCH) / s;
}

const current = (events: FlumeEvent[], scratch: Scratch): Buffer => encodeBatch(events, 'ndjson', Infinity, scratch)[0].body;

console.log(`${runtimeName()}; ${BATCHES} batches × ${BATCH} events per pass, ${ROUNDS} rounds, ndjson, one request per batch`);
console.log(`${'workload'.padEnd(10)} ${'body B'.padStart(7)} ${'baseline ev/s'.padStart(14)} ${'current ev/s'.padStart(14)} ${'current/baseline'.padStart(17)}`);
for (const [name, line] of [['plain', plainLine], ['access', accessLine], ['non-ascii', nonAsciiLine]] as const) {
  const batches = batchesOf(line);
  for (const batch of batches.slice(0, 3)) {
    if (!baselineNdjson(batch, {}).equals(current(batch, {}))) throw new Error(`${name}: current and baseline bytes differ`);
  }
  const bodyBytes = batches[0].reduce((s, e) => s + e.body.byteLength, 0) / BATCH;
  const base: number[] = [];
  const cur: number[] = [];
  const ratios: number[] = [];
  const baseScratch: BaselineScratch = {};
  const curScratch: Scratch = {};
  pass(batches, baselineNdjson, baseScratch); // warm-up: both optimized and their scratch buffers touched
  pass(batches, current, curScratch);
  for (let r = 0; r < ROUNDS; r++) {
    // alternate which goes first, so neither always runs right after a GC the other caused
    let b: number;
    let c: number;
    if (r % 2) {
      b = pass(batches, baselineNdjson, baseScratch);
      c = pass(batches, current, curScratch);
    } else {
      c = pass(batches, current, curScratch);
      b = pass(batches, baselineNdjson, baseScratch);
    }
    base.push(b);
    cur.push(c);
    ratios.push(c / b);
  }
  console.log(`${name.padEnd(10)} ${fmt(bodyBytes).padStart(7)} ${fmt(median(base)).padStart(14)} ${fmt(median(cur)).padStart(14)} ${`${fmt(median(ratios), 2)}×`.padStart(17)}`);
}
