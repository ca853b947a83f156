// CPU of the agent under a trickle: an application that writes its log a line
// at a time (one write(2) per line, as most do), `--rate` times a second for
// `--seconds`, in a directory that also holds `--idle` files nobody writes.
// Quick mode, file channel, logger sink to a file. The baseline, measured in
// the same run on the same writes, is `tail -F` on the same file: a tailer
// with nothing durable to do, so the ratio says what durability and the rest
// cost on top of following the file.
//   node --import tsx scripts/bench-trickle.ts [--runtimes node,bun,deno,binary] [--rate 1000] [--seconds 10] [--idle 50]
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, stopAgent, type Runtime } from './lib/agent.ts';
import { sampleProc } from './lib/proc.ts';
import { fmt } from './lib/stats.ts';
import { until } from '../test/helpers/poll.ts';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : dflt);
const RUNTIMES = arg('runtimes', 'node').split(',') as Runtime[];
const RATE = Number(arg('rate', '1000'));
const SECONDS = Number(arg('seconds', '10'));
const IDLE = Number(arg('idle', '50'));
const LINES = RATE * SECONDS;

/** Appends LINES lines, one write each, RATE a second (as many as are due every millisecond). */
async function writeLines(file: string): Promise<void> {
  const line = `${'x'.repeat(100)}\n`;
  const t0 = performance.now();
  let n = 0;
  while (n < LINES) {
    const due = Math.min(LINES, Math.floor((RATE * (performance.now() - t0)) / 1000));
    for (; n < due; n++) appendFileSync(file, line);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function lineCount(path: string): number {
  const b = readFileSync(path);
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/** CPU seconds the process `pid` used while `work` ran, once `out` holds `lines` lines. */
async function cpuDuring(pid: number, out: string, work: () => Promise<void>): Promise<number> {
  const c0 = sampleProc(pid)!.cpuSeconds;
  await work();
  await until(() => `all ${LINES} lines in ${out} (have ${lineCount(out)})`, () => lineCount(out) >= LINES, 60_000, 50);
  return sampleProc(pid)!.cpuSeconds - c0;
}

function setUp(work: string): string {
  const logs = join(work, 'logs');
  mkdirSync(logs, { recursive: true });
  for (let i = 0; i < IDLE; i++) writeFileSync(join(logs, `idle-${i}.log`), 'idle\n');
  const file = join(logs, 'app.log');
  writeFileSync(file, '');
  return file;
}

const work = mkdtempSync(join(tmpdir(), 'bench-trickle-'));
try {
  console.log(`${fmt(LINES)} single-line appends, ${fmt(RATE)}/s for ${SECONDS} s, in a directory with ${IDLE} idle files`);
  // the baseline: tail -F (GNU coreutils, inotify) on the same file
  const tailDir = join(work, 'tail');
  const tailFile = setUp(tailDir);
  const tailOut = join(tailDir, 'out');
  const fd = openSync(tailOut, 'w');
  const tail = spawn('tail', ['-F', '-n', '0', tailFile], { stdio: ['ignore', fd, 'ignore'] });
  closeSync(fd);
  await until('tail -F to start', () => sampleProc(tail.pid!) !== undefined);
  await new Promise((r) => setTimeout(r, 500));
  const tailCpu = await cpuDuring(tail.pid!, tailOut, () => writeLines(tailFile));
  tail.kill();
  console.log(`  tail -F: ${fmt(tailCpu * 1000)} ms of CPU, ${fmt((tailCpu * 1e6) / LINES, 1)} µs per line`);
  for (const rt of RUNTIMES) {
    const dir = join(work, rt);
    const file = setUp(dir);
    const out = join(dir, 'out');
    const outFd = openSync(out, 'w');
    const cli = startAgent(['--watch', join(dir, 'logs'), '--data-dir', join(dir, 'state')], { runtime: rt });
    // the logger sink's lines go to a file, as when an agent's output is redirected
    cli.child.stdout?.on('data', (d: Buffer) => appendFileSync(outFd, d));
    try {
      await cli.waitFor('started', 'stderr', 30_000);
      const cpu = await cpuDuring(cli.child.pid!, out, () => writeLines(file));
      console.log(`  ${rt}: ${fmt(cpu * 1000)} ms of CPU, ${fmt((cpu * 1e6) / LINES, 1)} µs per line, ${fmt(cpu / SECONDS * 100)} % of a core; ${fmt(cpu / tailCpu, 1)}× tail -F`);
    } finally {
      await stopAgent(cli);
      closeSync(outFd);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
