// Throughput of the TAILDIR source: a 1,000,000-line file (~170-byte lines)
// read through the TaildirSource into the memory channel, drained and
// discarded, against the floor measured in the same run (read the file in
// large chunks and split lines, no channel).
//   node --import tsx scripts/bench-tail.ts [lines] [--channel memory|file] [--rounds 3]
// With `--channel file` the batches go into the durable file channel (every
// put and take commit fsync'ed, group commit) in the same temp dir. Either
// channel is drained by the real null sink under its SinkRunner, as an agent
// runs it, with quick mode's batch sizes (commands/watch.ts): the source puts
// QUICK_SOURCE_BATCH lines at a time into a file channel with quick mode's
// settings (Flume's defaults; the memory channel holds 20,000, in memory), and
// the sink takes QUICK_SINK_BATCH at a time, as quick mode's HTTP sink does.
// BENCH_SINK_BATCH=n sets the sink's batch (1000 before the fourteenth
// session; BENCHMARKS.md), BENCH_IN_FLIGHT=n the source's puts in flight (default
// putsInFlight(QUICK_SOURCE_BATCH): 8, 4 on Bun);
// with `--channel file` the disk's own floor is measured too: the same bytes
// appended durably with no CPU work around them (durableAppendFloor);
// BENCH_CPU_PROF=DIR writes the source process's CPU profile (--cpu-prof) there.
// The source runs in a child process of its own (scripts/lib/tail-child.ts,
// bundled by esbuild as `npm run build:js` bundles the agent, and run with the
// agent's node flags), so its peak RSS (VmHWM) is the source's and the
// channel's alone, not the file generator's, and its code is what the agent
// ships rather than tsx's development transform. Rounds
// (--rounds, default 3) alternate the floor (the median of three runs in this
// process) and the source, and the ratio printed is the median of the rounds'
// ratios, each against the floor measured just before it.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, statSync, unlinkSync, write, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { QUICK_SOURCE_BATCH } from '../src/commands/watch.ts';
import { NODE_FLAGS } from '../test/helpers/cli.ts';

const args = process.argv.slice(2);
const LINES = Number(args.find((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith('--')) ?? 1_000_000);
const CHANNEL = args.includes('--channel') ? args[args.indexOf('--channel') + 1] : 'memory';
if (CHANNEL !== 'memory' && CHANNEL !== 'file') throw new Error(`--channel memory|file, not ${CHANNEL}`);
const ROUNDS = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 3;
const dir = mkdtempSync(join(tmpdir(), 'bench-tail-'));
const ROOT = join(import.meta.dirname, '..');
const file = join(dir, 'app.log');

function makeFile(): void {
  const fd = openSync(file, 'w');
  const pad = 'x'.repeat(120);
  let chunk = '';
  for (let i = 0; i < LINES; i++) {
    chunk += `2024-05-01T12:00:00.000Z INFO  [worker-${i % 16}] request ${String(i).padStart(9, '0')} ${pad}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
}

function floor(): { lines: number; ms: number } {
  const t0 = performance.now();
  const fd = openSync(file, 'r');
    let lines = 0;
  let pos = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(256 * 1024);
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    const view = buf.subarray(0, n);
    // splitting means producing each line as bytes a consumer can hold (a view, as the source does)
    const out: Buffer[] = [];
    let i = 0;
    let last = -1;
    while ((i = view.indexOf(10, i)) !== -1) {
      out.push(view.subarray(last + 1, i));
      lines++;
      last = i;
      i++;
    }
    pos += last >= 0 ? last + 1 : n;
  }
  closeSync(fd);
  return { lines, ms: performance.now() - t0 };
}

/**
 * The disk's own floor for the file channel: the same number of bytes as the
 * file plus the channel's framing (10 bytes per entry, 24 per record of QUICK_SOURCE_BATCH),
 * appended durably the way the channel's group commit writes (O_DSYNC, about
 * 400 KB per write, two writes in flight), with no CPU work around it.
 */
async function durableAppendFloor(bytes: number): Promise<{ ms: number }> {
  const total = bytes + LINES * 10 + Math.ceil(LINES / QUICK_SOURCE_BATCH) * 24;
  const size = 400 * 1024;
  const block = Buffer.alloc(size, 0x78);
  const path = join(dir, 'floor.wal');
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (constants.O_DSYNC ?? 0));
  const t0 = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const at = next;
      const n = Math.min(size, total - at);
      next += n;
      await new Promise<void>((res, rej) => write(fd, block, 0, n, at, (err) => (err ? rej(err) : res())));
    }
  };
  await Promise.all([lane(), lane()]);
  const ms = performance.now() - t0;
  closeSync(fd);
  unlinkSync(path);
  return { ms };
}

/** Bundles the measured side (tail-child.ts) as the agent's own build does; returns its path. */
async function buildChild(): Promise<string> {
  const out = join(ROOT, 'dist', 'bench', 'tail-child.mjs');
  await build({
    entryPoints: [join(ROOT, 'scripts', 'lib', 'tail-child.ts')],
    bundle: true, platform: 'node', format: 'esm', packages: 'external', target: 'node20', outfile: out, logLevel: 'warning',
  });
  return out;
}

{
  try {
    makeFile();
    const child = await buildChild();
    const bytes = statSync(file).size;
    floor(); // warm the page cache
    // The disk's own floor first: the first ~200 MB a process here writes durably takes 1.5-3x the kernel time
    // of the next (seen with a bare O_DSYNC writer as with the channel), which made the first round an outlier.
    const disk = CHANNEL === 'file' ? [await durableAppendFloor(bytes), await durableAppendFloor(bytes), await durableAppendFloor(bytes)].sort((a, b) => a.ms - b.ms)[1] : undefined;
    // with the agent's own node flags (the bin's shebang), so its RSS is what the agent's would be
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    type Run = { lines: number; ms: number; cpuMs: number; sysMs: number; baseMb: number; peakMb: number };
    const rate = (r: { lines: number; ms: number }): string =>
      `${Math.round(r.lines / (r.ms / 1000)).toLocaleString('en')} lines/s, ${(bytes / 1e6 / (r.ms / 1000)).toFixed(0)} MB/s (${r.ms.toFixed(0)} ms)`;
    console.log(`file: ${LINES.toLocaleString('en')} lines, ${(bytes / 1e6).toFixed(0)} MB`);
    // Rounds alternate the floor and the source, each ratio against the floor measured just before it:
    // the machine's load swings by a third from minute to minute, and moves both alike.
    const rounds: { floor: { lines: number; ms: number }; run: Run; ratio: number }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const f = [floor(), floor(), floor()].sort((a, b) => a.ms - b.ms)[1];
      const out = execFileSync(process.execPath, [...NODE_FLAGS, ...(i === 0 ? prof : []), child, file, dir, CHANNEL], { encoding: 'utf8', env: { ...process.env, BENCH_LINES: String(LINES) } });
      const run = JSON.parse(out.trim().split('\n').pop()!) as Run;
      const ratio = f.ms / run.ms;
      rounds.push({ floor: f, run, ratio });
      console.log(`round ${i + 1}: floor (read + split, no channel, median of 3) ${rate(f)}; TAILDIR -> ${CHANNEL} channel -> null sink ${rate(run)}: ${(ratio * 100).toFixed(1)}% of the floor; CPU ${run.cpuMs.toFixed(0)} ms (${run.sysMs.toFixed(0)} in the kernel, ${(run.cpuMs / run.ms).toFixed(2)} cores); peak RSS ${run.peakMb.toFixed(0)} MB`);
    }
    const mid = [...rounds].sort((a, b) => a.ratio - b.ratio)[rounds.length >> 1];
    console.log(`ratio: ${(mid.ratio * 100).toFixed(1)}% of the floor, the median of ${rounds.length} rounds (${rounds.map((r) => (r.ratio * 100).toFixed(1)).join(', ')}; target >= 25%)`);
    if (disk) {
      console.log(`the disk alone, appending the same bytes durably (O_DSYNC, 400 KB writes, two in flight; median of 3): ${disk.ms.toFixed(0)} ms, so the median round's channel ran at ${((disk.ms / mid.run.ms) * 100).toFixed(0)}% of the disk's own pace`);
    }
    const peak = Math.max(...rounds.map((r) => r.run.peakMb));
    console.log(`peak RSS of the source's process: ${peak.toFixed(0)} MB at most over the rounds (target < 150 MB; ${mid.run.baseMb.toFixed(0)} MB of it before the source started: node and the bundle)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
