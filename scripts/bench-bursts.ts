/**
 * End-of-burst latency: one agent (quick mode → file channel → HTTP sink →
 * the counting receiver), a live writer appending bursts of 2 s at 20,000
 * lines/s with 0.5 s pauses, and for each burst the p99 and the worst line's
 * latency. A burst whose worst line took over 200 ms is flagged, with the
 * timeline of the agent's source-accepted and sink-drained counts after the
 * burst ended (polled from /metrics every 10 ms): it tells whether the source
 * or the sink held the last lines back. Found the watch event Bun drops now
 * and then (BENCHMARKS.md).
 *   node --import tsx scripts/bench-bursts.ts [--runtime binary] [--bursts 40]
 * Exits 1 if any burst was flagged.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/net.ts';
import { counter, getMetrics, startAgent, stopAgent, type Runtime } from './lib/agent.ts';
import { AccessLines, nowMicros, writeAtRate } from './lib/loggen.ts';
import { RemoteReceiver } from './lib/receiver-child.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}

const RUNTIME = arg('runtime', 'binary') as Runtime;
const BURSTS = Number(arg('bursts', '40'));
const RATE = 20_000;
const BURST_S = 2;
const FLAG_MS = 200;

const work = mkdtempSync(join(tmpdir(), 'bench-bursts-'));
const file = join(work, 'live.log');
const fd = openSync(file, 'a');
const remote = new RemoteReceiver();
await remote.listen();
const mport = await freePort();
const cli = startAgent(['--watch', file, '--from-beginning', '--data-dir', join(work, 'state'), '--http', `http://127.0.0.1:${remote.port}/`, '--metrics-port', String(mport)], { runtime: RUNTIME });
let flagged = 0;
try {
  const gen = new AccessLines();
  writeSync(fd, gen.line(0, nowMicros()));
  await remote.waitForDistinct(1, 60_000);
  let seq = 1;
  for (let b = 0; b < BURSTS; b++) {
    await remote.reset(true);
    const total = RATE * BURST_S;
    seq = await writeAtRate(fd, gen, seq, total, RATE);
    // the agent's counts include the warm-up line 0: all of this burst is in once they reach `seq`
    const tEnd = performance.now();
    const timeline: string[] = [];
    let accepted = -1;
    let drained = -1;
    while (drained < seq && performance.now() - tEnd < 10_000) {
      const m = await getMetrics(mport).catch(() => undefined);
      if (m) {
        const a = counter(m, 'SOURCE.tail', 'EventAcceptedCount');
        const d = counter(m, 'SINK.out', 'EventDrainSuccessCount');
        if (a !== accepted || d !== drained) timeline.push(`+${(performance.now() - tEnd).toFixed(0)} ms accepted ${a} drained ${d}`);
        accepted = a;
        drained = d;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await remote.waitForDistinct(total, 30_000);
    const l = (await remote.stats()).latency!;
    const bad = l.max > FLAG_MS;
    if (bad) flagged++;
    console.log(`burst ${b}: p99 ${l.p99.toFixed(1)} ms, worst ${l.max.toFixed(0)} ms (line ${l.maxSeq}, last ${seq - 1})${bad ? '  <<< held back' : ''}`);
    if (bad) console.log(`  ${timeline.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
} finally {
  await stopAgent(cli);
  closeSync(fd);
  await remote.close();
  rmSync(work, { recursive: true, force: true });
}
console.log(`${RUNTIME}: ${flagged} of ${BURSTS} bursts had a line held back over ${FLAG_MS} ms`);
if (flagged > 0) process.exitCode = 1;
