// A counting HTTP receiver for the agent's ndjson batches: it checks every
// `seq=` number (distinct, duplicates, missing), can measure latency from the
// `t=` stamp in each line, and can misbehave on purpose (503s, dropped
// connections) for the chaos run. It runs in the bench process or, through
// receiver-child.ts, in a child process of its own.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { nowMicros, parseDigits } from './loggen.ts';
import { percentile, sortedCopy } from './stats.ts';

export interface Faults {
  /** Probability that a request is answered 503 (not stored). */
  p503: number;
  /** Probability that a request's connection is destroyed without an answer (not stored). */
  pDrop: number;
}

export interface ReceiverStats {
  requests: number;
  failedOnPurpose: number;
  dropped: number;
  /** Lines carrying a seq, duplicates included. */
  lines: number;
  distinct: number;
  duplicates: number;
  /** Duplicates whose copy came from a file named like `copyPattern` (a copytruncate copy). */
  copyDuplicates: number;
  /** Lines with no seq (garbage, bad inputs). */
  other: number;
  bytes: number;
  firstAt: number;
  lastAt: number;
  latency?: { count: number; p50: number; p90: number; p99: number; max: number; maxSeq: number };
}

const SEQ = Buffer.from('seq=');
const T = Buffer.from(' t=');
const B64 = Buffer.from('"body_base64"');
/** From `seq=` to the end of a bench line: `seq=` + 10 digits + ` t=` + 16 digits + `"}`. */
const TAIL = 4 + 10 + 3 + 16 + 2;

export class CountingReceiver {
  private seen = new Uint8Array(1 << 20);
  private maxSeq = -1;
  private latencies = new Float64Array(1 << 16);
  /** the line that took longest, to tell a stall at the start or end from one mid-run */
  private worst = { ms: -1, seq: -1 };
  private latCount = 0;
  private server: Server | undefined;
  private waiters: { n: number; resolve: () => void }[] = [];
  s: ReceiverStats = CountingReceiver.empty();
  faults: Faults = { p503: 0, pDrop: 0 };
  measureLatency = false;
  /** 'fast' scans raw bytes for seq; 'json' parses every line (needed for file headers and base64 bodies). */
  parse: 'fast' | 'json' = 'fast';
  copyPattern: RegExp | undefined;

  static empty(): ReceiverStats {
    return { requests: 0, failedOnPurpose: 0, dropped: 0, lines: 0, distinct: 0, duplicates: 0, copyDuplicates: 0, other: 0, bytes: 0, firstAt: 0, lastAt: 0 };
  }

  reset(): void {
    this.seen = new Uint8Array(1 << 20);
    this.maxSeq = -1;
    this.latCount = 0;
    this.worst = { ms: -1, seq: -1 };
    this.s = CountingReceiver.empty();
  }

  async listen(port = 0): Promise<number> {
    const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  /** Resolves once `n` distinct seqs have arrived. */
  waitForDistinct(n: number): Promise<void> {
    if (this.s.distinct >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  /** Every seq in [from, to) not received. */
  missing(from: number, to: number, limit = Infinity): number[] {
    const out: number[] = [];
    for (let i = from; i < to && out.length < limit; i++) if (i >= this.seen.length || this.seen[i] === 0) out.push(i);
    return out;
  }

  countMissing(from: number, to: number): number {
    let n = 0;
    for (let i = from; i < to; i++) if (i >= this.seen.length || this.seen[i] === 0) n++;
    return n;
  }

  stats(): ReceiverStats {
    const out = { ...this.s };
    if (this.latCount > 0) {
      const sorted = sortedCopy(this.latencies, this.latCount);
      out.latency = { count: this.latCount, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1], maxSeq: this.worst.seq };
    }
    return out;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      this.s.requests++;
      const r = Math.random();
      if (r < this.faults.pDrop) {
        this.s.dropped++;
        req.socket.destroy();
        return;
      }
      if (r < this.faults.pDrop + this.faults.p503) {
        this.s.failedOnPurpose++;
        res.writeHead(503, { 'retry-after': '0' });
        res.end();
        return;
      }
      let body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      this.s.bytes += body.length;
      const now = nowMicros();
      if (this.parse === 'fast') this.scanFast(body, now);
      else this.scanJson(body, now);
      res.end();
      this.wake();
    });
  }

  private record(seq: number, t: number, now: number, fromCopy: boolean): void {
    if (seq >= this.seen.length) {
      let size = this.seen.length;
      while (size <= seq) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.seen);
      this.seen = grown;
    }
    this.s.lines++;
    if (this.seen[seq] === 0) {
      this.s.distinct++;
      if (this.s.firstAt === 0) this.s.firstAt = now;
      this.s.lastAt = now;
    } else {
      this.s.duplicates++;
      if (fromCopy) this.s.copyDuplicates++;
    }
    if (this.seen[seq] < 255) this.seen[seq]++;
    if (seq > this.maxSeq) this.maxSeq = seq;
    if (this.measureLatency && t > 0) {
      if (this.latCount === this.latencies.length) {
        const grown = new Float64Array(this.latencies.length * 2);
        grown.set(this.latencies);
        this.latencies = grown;
      }
      const ms = (now - t) / 1000;
      this.latencies[this.latCount++] = ms;
      if (ms > this.worst.ms) this.worst = { ms, seq };
    }
  }

  /**
   * Finds each line's `seq=` in the raw request bytes, without a JSON parse:
   * the receiver shares the machine's two cores with the agent, so what it
   * spends the agent cannot have. A line the bench wrote ends with
   * `seq=NNNNNNNNNN t=NNNNNNNNNNNNNNNN"}`, so its seq is read at a fixed
   * distance from the newline (one native search per line); any other line is
   * searched, and one whose body came as base64 is parsed as JSON.
   */
  private scanFast(b: Buffer, now: number): void {
    let lineStart = 0;
    for (;;) {
      const nl = b.indexOf(10, lineStart);
      const end = nl === -1 ? b.length : nl;
      if (end > lineStart) {
        const i = end - TAIL;
        if (i >= lineStart && b[i] === 0x73 && b[i + 1] === 0x65 && b[i + 2] === 0x71 && b[i + 3] === 0x3d && b[i + 14] === 0x20 && b[i + 15] === 0x74 && b[i + 16] === 0x3d && b[end - 2] === 0x22) {
          const seq = parseDigits(b, i + 4, 10);
          const t = this.measureLatency ? parseDigits(b, i + 17, 16) : 0;
          if (seq >= 0) this.record(seq, t > 0 ? t : 0, now, false);
          else this.s.other++;
        } else {
          this.scanLine(b, lineStart, end, now);
        }
      }
      if (nl === -1) break;
      lineStart = nl + 1;
    }
  }

  /** A line not in the bench's own shape: searched for `seq=`, or parsed when its body is base64. */
  private scanLine(b: Buffer, start: number, end: number, now: number): void {
    const line = b.subarray(start, end);
    if (line.indexOf(B64) !== -1) this.scanJson(line, now);
    else this.recordFrom(line, now, false);
  }

  private scanJson(b: Buffer, now: number): void {
    for (const line of b.toString('utf8').split('\n')) {
      if (!line) continue;
      const o = JSON.parse(line) as { headers?: Record<string, string>; body?: string; body_base64?: string };
      const raw = o.body_base64 !== undefined ? Buffer.from(o.body_base64, 'base64') : Buffer.from(o.body ?? '', 'utf8');
      const file = o.headers?.file ?? '';
      this.recordFrom(raw, now, this.copyPattern ? this.copyPattern.test(file) : false);
    }
  }

  /** Records the `seq=` (and `t=`) found in a line's bytes, or counts the line as one without a seq. */
  private recordFrom(raw: Buffer, now: number, fromCopy: boolean): void {
    const i = raw.indexOf(SEQ);
    const seq = i === -1 ? -1 : parseDigits(raw, i + 4, 10);
    if (seq < 0) {
      this.s.other++;
      return;
    }
    const t = raw.indexOf(T, i + 14) === i + 14 ? parseDigits(raw, i + 17, 16) : 0;
    this.record(seq, t, now, fromCopy);
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (this.s.distinct >= w.n) {
        w.resolve();
        return false;
      }
      return true;
    });
  }
}
