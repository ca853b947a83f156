// The measured side of scripts/bench-tail.ts, in a process of its own: a
// TAILDIR source reads the file, puts its batches into a channel, and the null
// sink drains it under its SinkRunner, as an agent runs them. bench-tail
// bundles this file with esbuild the way `npm run build:js` bundles the agent
// (dist/js), so what runs is the code the agent ships, not tsx's development
// transform (which wraps every function made at run time in a naming helper).
//   BENCH_LINES=n node dist/bench/tail-child.mjs FILE DIR memory|file   (DIR: where its state dir is made)
// prints one line of JSON: lines drained, wall and CPU ms, RSS before and peak.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryChannel } from '../../src/channels/memory.ts';
import type { Channel } from '../../src/channels/channel.ts';
import { FileChannel, FILE_CHANNEL_DEFAULTS } from '../../src/channels/file/file-channel.ts';
import { ChannelProcessor } from '../../src/core/channel-processor.ts';
import { Logger } from '../../src/core/log.ts';
import { DEFAULT_RUNNER, SinkRunner } from '../../src/core/sink-runner.ts';
import { NullSink } from '../../src/sinks/null.ts';
import { QUICK_SINK_BATCH, QUICK_SOURCE_BATCH } from '../../src/commands/watch.ts';
import { ReplicatingSelector } from '../../src/selectors/replicating.ts';
import { TaildirSource } from '../../src/sources/taildir/source.ts';
import { DEFAULT_MAX_LINE_LENGTH } from '../../src/sources/taildir/spec.ts';

const [file, dir, kind] = process.argv.slice(2);
/** the batches quick mode's sink takes */
const SINK_BATCH = Number(process.env.BENCH_SINK_BATCH ?? QUICK_SINK_BATCH);
const lines = Number(process.env.BENCH_LINES);
if (!file || !dir || (kind !== 'memory' && kind !== 'file') || !(lines > 0)) {
  throw new Error('usage: BENCH_LINES=n tail-child.mjs FILE DIR memory|file');
}

/** VmHWM: the process's peak resident set, as the kernel counts it. */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

async function throughSource(state: string): Promise<{ lines: number; ms: number; cpuMs: number; sysMs: number }> {
  const log = new Logger({ write: () => undefined }, 'error');
  const channel: Channel = kind === 'file'
    // quick mode's file channel: Flume's defaults (the events wait on disk, not in memory)
    ? new FileChannel({ ...FILE_CHANNEL_DEFAULTS, minimumRequiredSpace: 0 }, { name: 'c1', log, stateDir: state })
    : new MemoryChannel('c1', { capacity: 20_000, transactionCapacity: Math.max(QUICK_SOURCE_BATCH, SINK_BATCH), byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 3000 });
  await channel.start();
  const processor = new ChannelProcessor([], new ReplicatingSelector([channel], []), log);
  const sink = new NullSink('k1');
  const runner = new SinkRunner(sink, channel, { ...DEFAULT_RUNNER, batchSize: SINK_BATCH }, log);
  await runner.start();
  const drained = (): number => sink.counters.get('EventDrainSuccessCount');
  const source = new TaildirSource({
    groups: [], groupHeaders: {}, paths: [file], exclude: [], defaultExcludes: true,
    skipToEnd: false, skipToEndOnFirstStart: false, idleTimeout: 120_000, writePosInterval: 3000,
    batchSize: QUICK_SOURCE_BATCH, maxBatchCount: Infinity, backoffSleepIncrement: 1000, maxBackoffSleep: 5000,
    fileHeader: false, fileHeaderKey: 'file', byteOffsetHeader: false,
    maxLineLength: DEFAULT_MAX_LINE_LENGTH, longLines: 'split', maxOpenFiles: 256,
    ...(process.env.BENCH_IN_FLIGHT ? { maxInFlight: Number(process.env.BENCH_IN_FLIGHT) } : {}),
  }, { name: 'r1', processor, log, stateDir: state }, join(state, 'positions.json'));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await source.start();
  while (drained() < lines) await new Promise((r) => setTimeout(r, 2));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  await source.stop();
  await runner.stop();
  await channel.stop();
  return { lines: drained(), ms, cpuMs: (cpu.user + cpu.system) / 1000, sysMs: cpu.system / 1000 };
}

const baseMb = process.memoryUsage().rss / 1048576;
// a state of its own (channel, positions): each round starts as a first run
const state = mkdtempSync(join(dir, 'state-'));
const r = await throughSource(state);
rmSync(state, { recursive: true, force: true });
console.log(JSON.stringify({ ...r, baseMb, peakMb: peakRssMb() }));
