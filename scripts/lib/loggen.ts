// Sequenced access-log lines: every line carries a unique `seq=` number and the
// wall-clock time it was written (`t=` microseconds), so a receiver can prove
// that nothing was lost and measure end-to-end latency from the line alone.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

const PATHS = ['/api/v1/items', '/api/v1/orders', '/static/app.js', '/login', '/api/v2/search', '/healthz', '/img/logo.png'];
const AGENTS = ['Mozilla/5.0 (X11; Linux x86_64; rv:125.0)', 'curl/8.5.0', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4)', 'Go-http-client/1.1'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Wall-clock time in microseconds, comparable between processes on one machine. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

function clfOf(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/**
 * Makes ~170-byte combined-log-format lines (newline included) with `seq=`
 * (10 digits) and `t=` (16-digit microseconds) at their end. Keeps the last
 * formatted date, since consecutive lines mostly share their second.
 */
export class AccessLines {
  private sec = -1;
  private date = '';

  line(seq: number, tMicros: number, prefix = ''): string {
    const sec = Math.floor(tMicros / 1_000_000);
    if (sec !== this.sec) {
      this.sec = sec;
      this.date = clfOf(sec * 1000);
    }
    const ip = `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq & 255}`;
    const path = PATHS[seq % PATHS.length];
    const status = seq % 53 === 0 ? 503 : seq % 11 === 0 ? 404 : 200;
    return `${prefix}${ip} - - [${this.date}] "GET ${path}?id=${seq % 9973} HTTP/1.1" ${status} ${1000 + (seq % 9000)} "https://x.io/" "${AGENTS[seq % AGENTS.length]}" seq=${String(seq).padStart(10, '0')} t=${String(tMicros).padStart(16, '0')}\n`;
  }
}

/** Writes `lines` sequenced lines (seq from `first`) to a new file; returns its size in bytes. */
export function writeLogFile(path: string, lines: number, first = 0): number {
  const fd = openSync(path, 'w');
  let bytes = 0;
  let chunk = '';
  const t = nowMicros();
  const gen = new AccessLines();
  for (let i = 0; i < lines; i++) {
    chunk += gen.line(first + i, t);
    if (chunk.length > 1 << 20) {
      bytes += writeSync(fd, chunk);
      chunk = '';
    }
  }
  bytes += writeSync(fd, chunk);
  // On the disk before any case runs: left to the kernel, its writeback came 30 s later (dirty_expire_centisecs),
  // a burst of 160 MB in the middle of node's live case, and the agent's durable appends waited behind it (a
  // 105-142 ms stall in each run, BENCHMARKS.md). An application's own log is written back as it grows.
  fsyncSync(fd);
  closeSync(fd);
  return bytes;
}

/** Reads `seq=NNNNNNNNNN` starting at `i` (the index of the first digit) in bytes; -1 if not ten digits. */
export function parseDigits(b: Uint8Array, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = b[i + k] - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * A live writer: appends `count` sequenced lines from `first` to `fd` at
 * `rate` lines/s, each 1 ms tick writing what is due in one write, every
 * line stamped with the time of its write. Resolves with the next seq.
 */
export async function writeAtRate(fd: number, gen: AccessLines, first: number, count: number, rate: number): Promise<number> {
  let seq = first;
  const t0 = performance.now();
  while (seq < first + count) {
    const due = Math.min(first + count, first + Math.floor((rate * (performance.now() - t0)) / 1000)) - seq;
    if (due > 0) {
      const t = nowMicros();
      let chunk = '';
      for (let i = 0; i < due; i++) chunk += gen.line(seq++, t);
      writeSync(fd, chunk);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  return seq;
}
