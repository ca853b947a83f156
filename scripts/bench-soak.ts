// RSS of the agent over a long live run: a writer appends access-log lines to one file at a steady
// rate, the agent (quick mode, file channel, HTTP sink) ships them to the bench's counting receiver, and
// the agent's VmRSS is printed every 5 s, then its peak (VmHWM). Flat after warm-up means nothing grows.
//   node --import tsx scripts/bench-soak.ts [node|bun|binary|deno] [lines/s, 20000] [seconds, 90]
// Run `npm run build` first: the bin runs the sources through tsx when they are newer than dist/js, and
// tsx alone adds ~40 MB.
import { mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, stopAgent } from './lib/agent.ts';
import { AccessLines, writeAtRate, nowMicros } from './lib/loggen.ts';
import { RemoteReceiver } from './lib/receiver-child.ts';
const rt = (process.argv[2] ?? 'node') as 'node' | 'binary' | 'bun' | 'deno';
const rate = Number(process.argv[3] ?? 20000);
const seconds = Number(process.argv[4] ?? 90);
const dir = join(tmpdir(), `flume-tail-soak-${rt}`);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const file = join(dir, 'live.log');
const fd = openSync(file, 'a');
const remote = new RemoteReceiver();
await remote.listen();
const cli = startAgent(['--watch', file, '--from-beginning', '--data-dir', join(dir, 'state'), '--http', `http://127.0.0.1:${remote.port}/ingest`], { runtime: rt });
const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${cli.child.pid}/status`, 'utf8'))![1]) / 1024;
const gen = new AccessLines();
const samples: string[] = [];
const t = setInterval(() => samples.push(rss().toFixed(0)), 5000);
await writeAtRate(fd, gen, 0, rate * seconds, rate);
clearInterval(t);
await remote.waitForDistinct(rate * seconds, 60_000);
const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${cli.child.pid}/status`, 'utf8'))![1]) / 1024;
const missing = await remote.countMissing(0, rate * seconds);
console.log(`${rt} at ${rate} lines/s for ${seconds} s: RSS every 5 s (MB) ${samples.join(' ')}; peak ${hwm.toFixed(0)} MB; missing ${missing}`);
await stopAgent(cli);
await remote.close();
rmSync(dir, { recursive: true, force: true });
process.exit(missing === 0 ? 0 : 1);
