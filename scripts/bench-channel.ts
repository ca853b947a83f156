/**
 * File channel benchmark: put+take throughput for 150-byte events in batches
 * of 100 and 1000 against the floor measured in the same run (plain append +
 * fsync per batch of the same body bytes), then replay time and peak RSS of a
 * backlog (--replay-gb, default 0.2).
 *
 *   node --import tsx scripts/bench-channel.ts [--replay-gb 1] [--rounds 3] [--dir /path/on/the/disk/to/test]
 */
import { spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileChannel } from '../src/channels/file/file-channel.ts';
import { Logger } from '../src/core/log.ts';
import type { FlumeEvent } from '../src/core/event.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const EVENT_BYTES = 150;
const quiet = new Logger({ write: () => undefined }, 'error');

function channel(stateDir: string, o: { checkpointOnClose?: boolean; log?: Logger } = {}): FileChannel {
  return new FileChannel(
    {
      capacity: 100_000_000, transactionCapacity: 10_000, checkpointIntervalMs: 30_000, maxFileSize: 64 << 20,
      minimumRequiredSpace: 0, keepAliveMs: 3000, checkpointOnClose: o.checkpointOnClose ?? true,
    },
    { name: 'bench', log: o.log ?? quiet, stateDir },
  );
}

function batchOf(n: number, seq: number): FlumeEvent[] {
  const out: FlumeEvent[] = [];
  for (let i = 0; i < n; i++) {
    const body = Buffer.alloc(EVENT_BYTES, 97);
    body.write(`${seq}:${i} `);
    out.push({ headers: {}, body });
  }
  return out;
}

/** The floor: append the same body bytes and fsync, once per batch. */
function floor(dir: string, batch: number, batches: number): number {
  const path = join(dir, `floor-${batch}`);
  const fd = openSync(path, 'w');
  const buf = Buffer.alloc(batch * EVENT_BYTES, 97);
  const t0 = performance.now();
  for (let i = 0; i < batches; i++) {
    writeSync(fd, buf);
    fsyncSync(fd);
  }
  const ms = performance.now() - t0;
  closeSync(fd);
  rmSync(path);
  return ms;
}

/** One putter (one fsync per batch, like the floor) and one sink taking and committing as fast as it can. */
async function putTake(dir: string, batch: number, batches: number, putters: number): Promise<number> {
  const ch = channel(dir, { checkpointOnClose: false });
  await ch.start();
  const total = batch * batches;
  const pre = Array.from({ length: 64 }, (_, i) => batchOf(batch, i));
  const t0 = performance.now();
  let next = 0;
  const putter = async (): Promise<void> => {
    while (next < batches) await ch.put(pre[next++ % pre.length]);
  };
  let taken = 0;
  const taker = async (): Promise<void> => {
    while (taken < total) {
      const t = await ch.take(batch);
      if (t.events.length === 0) {
        await ch.waitForEvents(100);
        continue;
      }
      taken += t.events.length;
      await t.commit();
    }
  };
  await Promise.all([...Array.from({ length: putters }, putter), taker()]);
  const ms = performance.now() - t0;
  await ch.stop();
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function fill(dir: string, bytes: number): Promise<number> {
  const ch = channel(dir, { checkpointOnClose: false });
  await ch.start();
  const pre = Array.from({ length: 16 }, (_, i) => batchOf(1000, i));
  let events = 0;
  let i = 0;
  const putter = async (): Promise<void> => {
    while (events * EVENT_BYTES < bytes) {
      events += 1000;
      await ch.put(pre[i++ % pre.length]);
    }
  };
  await Promise.all([putter(), putter(), putter(), putter()]);
  const onDisk = ch.counters.get('ChannelBytesOnDisk');
  await ch.stop();
  return onDisk;
}

/**
 * Peak RSS of this process in MB: VmHWM on Linux (getrusage's maxrss is carried
 * over from the parent across fork+exec, so it would report the parent's peak).
 */
function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

async function replayChild(dir: string): Promise<void> {
  const baseRssMb = process.memoryUsage().rss / 1048576;
  const lines: string[] = [];
  const ch = channel(dir, { log: new Logger({ write: (l) => lines.push(l) }, 'info') });
  const t0 = performance.now();
  await ch.start();
  const startMs = performance.now() - t0;
  const replayPeakMb = peakRssMb();
  const size = ch.size;
  // drain a slice to show takes from a cold backlog
  const t1 = performance.now();
  let took = 0;
  while (took < 200_000) {
    const t = await ch.take(1000);
    if (!t.events.length) break;
    took += t.events.length;
    await t.commit();
  }
  const drainMs = performance.now() - t1;
  await ch.stop();
  const maxRssMb = peakRssMb();
  process.stdout.write(JSON.stringify({ startMs, size, took, drainMs, maxRssMb, baseRssMb, replayPeakMb, log: lines.filter((l) => l.includes('replay')).slice(-2) }) + '\n');
}

async function main(): Promise<void> {
  if (args[0] === '--replay-child') return replayChild(args[1]);
  const base = mkdtempSync(join(opt('dir', tmpdir()), 'bench-channel-'));
  try {
    const runtime = process.versions.bun ? `bun ${process.versions.bun}` : `node ${process.version}`;
    console.log(`file channel benchmark (${EVENT_BYTES}-byte events), dir ${base}, ${runtime}\n`);
    const rounds = Number(opt('rounds', '3'));
    console.log(`put+take, median of ${rounds} rounds (floor and channel alternate, so both see the same disk and load)\n`);
    console.log('| batch | putters | floor events/s | channel events/s | channel MB/s | channel time / floor time |');
    console.log('|---:|---:|---:|---:|---:|---:|');
    for (const [batch, batches, putters] of [[100, 2000, 1], [1000, 300, 1], [1000, 300, 4]] as const) {
      const fs: number[] = [];
      const cs: number[] = [];
      const ratios: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const dir = join(base, `pt-${batch}-${putters}-${r}`);
        const f = floor(base, batch, batches);
        const c = await putTake(dir, batch, batches, putters);
        rmSync(dir, { recursive: true, force: true });
        fs.push(f);
        cs.push(c);
        ratios.push(c / f);
      }
      const f = median(fs);
      const c = median(cs);
      const n = batch * batches;
      console.log(`| ${batch} | ${putters} | ${fmt((n / f) * 1000)} | ${fmt((n / c) * 1000)} | ${((n * EVENT_BYTES) / 1048576 / (c / 1000)).toFixed(1)} | ${median(ratios).toFixed(2)}× |`);
    }
    const gb = Number(opt('replay-gb', '0.2'));
    const rdir = join(base, 'replay');
    const tf = performance.now();
    const onDisk = await fill(rdir, gb * 2 ** 30);
    const fillS = (performance.now() - tf) / 1000;
    console.log(`\nbacklog: ${(gb * 2 ** 30 / EVENT_BYTES / 1e6).toFixed(2)} M events, ${(onDisk / 2 ** 20).toFixed(0)} MiB on disk, filled in ${fillS.toFixed(1)} s`);
    const self = fileURLToPath(import.meta.url);
    for (const mode of ['full replay (no checkpoint)', 'replay from the checkpoint'] as const) {
      if (mode.startsWith('full')) rmSync(join(rdir, 'channels', 'bench', 'checkpoint', 'checkpoint'), { force: true });
      // the child runs on the same runtime (Bun runs TypeScript itself; Node needs tsx)
      const argv = process.versions.bun ? [self, '--replay-child', rdir] : ['--import', 'tsx', self, '--replay-child', rdir];
      const r = spawnSync(process.execPath, argv, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`replay child failed: ${r.stderr}`);
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        startMs: number; size: number; took: number; drainMs: number; maxRssMb: number; baseRssMb: number; replayPeakMb: number;
      };
      console.log(
        `${mode}: start ${fmt(j.startMs)} ms for ${fmt(j.size)} pending events (${(onDisk / 2 ** 20 / (j.startMs / 1000)).toFixed(0)} MiB/s); ` +
          `then took+committed ${fmt(j.took)} in ${fmt(j.drainMs)} ms (${fmt((j.took / j.drainMs) * 1000)} events/s); ` +
          `RSS: ${j.baseRssMb.toFixed(0)} MB before start (runtime + loader), peak ${j.replayPeakMb.toFixed(0)} MB after replay, ${j.maxRssMb.toFixed(0)} MB after the takes`,
      );
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
