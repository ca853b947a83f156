import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { putsInFlight } from '../src/sources/taildir/source.ts';
import { startCli, type Cli } from './helpers/cli.ts';
import { tempDir, until } from './helpers/poll.ts';
import { Receiver } from './helpers/receiver.ts';
import { compareLines, describeComparison, SeqWriter, SteadyWriter } from './helpers/seq-writer.ts';

const WRITE_POS_INTERVAL = 200;
const SOURCE_BATCH = 100;
/** TaildirSource's puts in flight at once: the agent runs under Node, as this test does */
const SOURCE_PUTS_IN_FLIGHT = putsInFlight(SOURCE_BATCH);
const SINK_BATCH = 100;
const PER_TICK = 5;
const EVERY_MS = 5;

/** TAILDIR on `<dir>/logs` → file channel under `<dir>/state` → HTTP sink to the receiver on `port`, with these keys besides. */
function agentConfig(dir: string, port: number, source: Record<string, number>, sink: Record<string, number>): string {
  return [
    'a.sources = t',
    'a.channels = fc',
    'a.sinks = web',
    'a.sources.t.type = TAILDIR',
    `a.sources.t.paths = ${join(dir, 'logs')}`,
    `a.sources.t.positionFile = ${join(dir, 'state', 'positions.json')}`,
    ...Object.entries(source).map(([k, v]) => `a.sources.t.${k} = ${v}`),
    'a.sources.t.channels = fc',
    'a.channels.fc.type = file',
    `a.channels.fc.checkpointDir = ${join(dir, 'state', 'checkpoint')}`,
    `a.channels.fc.dataDirs = ${join(dir, 'state', 'data')}`,
    'a.channels.fc.minimumRequiredSpace = 1048576',
    'a.sinks.web.type = http',
    `a.sinks.web.endpoint = http://127.0.0.1:${port}/ingest`,
    'a.sinks.web.format = ndjson',
    ...Object.entries(sink).map(([k, v]) => `a.sinks.web.${k} = ${v}`),
    'a.sinks.web.channel = fc',
    '',
  ].join('\n');
}

/** A temp dir with `logs/`, a receiver listening, and `agent.properties` for them (agentConfig). */
async function crashSetup(source: Record<string, number>, sink: Record<string, number>): Promise<{ dir: string; cleanup: () => void; logs: string; receiver: Receiver; conf: string }> {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const receiver = new Receiver();
  const port = await receiver.listen();
  const conf = join(dir, 'agent.properties');
  writeFileSync(conf, agentConfig(dir, port, source, sink));
  return { dir, cleanup, logs, receiver, conf };
}

/**
 * `kill -9` of the real agent (`flume-tail agent -f`, TAILDIR → file channel
 * → HTTP sink) at random moments while an application keeps appending and
 * rotating, then a restart. Nothing may be lost. Duplicates are allowed only
 * for what was in flight at the kill, which bounds them per kill by:
 * - lines committed to the channel since the last position write: at most
 *   what the writer wrote in writePosInterval plus the kill's random delay and
 *   some slack (the agent is caught up when killed, so it commits at the
 *   writer's pace), plus the source's puts in flight;
 * - the sink's batch taken but not committed (redelivered after replay).
 */
test('kill -9 mid-stream three times while the app appends and rotates: no line lost, duplicates only in-flight', async () => {
  const { dir, cleanup, logs, receiver, conf } = await crashSetup({
    writePosInterval: WRITE_POS_INTERVAL, batchSize: SOURCE_BATCH, backoffSleepIncrement: 20, maxBackoffSleep: 100,
  }, { batchSize: SINK_BATCH, maxBackoff: 300 });
  const w = new SeqWriter(join(logs, 'app.log'), 'K');
  let rotations = 0;
  const steady = new SteadyWriter(w, PER_TICK, EVERY_MS, (tick) => {
    if (tick % 60 !== 0) return;
    w.rotate();
    w.write(3);
    w.reopen();
    rotations++;
  });
  let cli: Cli | undefined;
  const kills: { afterMs: number; delivered: number }[] = [];
  try {
    steady.start();
    for (let round = 0; ; round++) {
      cli = startCli(['agent', '-n', 'a', '-f', conf]);
      await cli.waitFor('agent a started', 'stderr');
      if (round === 3) break;
      const before = receiver.bodies.length;
      // mid-stream and caught up: some of this round's lines delivered, and no more than a few ticks behind the writer
      await until(() => `round ${round}: deliveries resumed and caught up (${receiver.bodies.length - before} new)`, () =>
        receiver.bodies.length - before >= 300 && compareLines(w.written, receiver.bodies).missing.length <= 10 * PER_TICK, 20_000, 10);
      const afterMs = Math.floor(Math.random() * 100);
      await new Promise((r) => setTimeout(r, afterMs)); // a random instant, not a wait for something
      cli.kill('SIGKILL');
      await cli.exited;
      kills.push({ afterMs, delivered: receiver.bodies.length });
    }
    // the writer kept writing while the agent was down; now it stops and the last agent catches up
    steady.stop();
    w.close();
    await until(() => `every line after ${kills.length} kills: ${describeComparison(compareLines(w.written, receiver.bodies))}`,
      () => compareLines(w.written, receiver.bodies).missing.length === 0, 20_000, 50);
    // every line is delivered, so every batch is committed: within a few position writes each file's recorded
    // position must reach its end. A position left behind is re-read, and delivered again, by every later restart.
    const behind = (): string[] => {
      const positions = JSON.parse(readFileSync(join(dir, 'state', 'positions.json'), 'utf8')) as { pos: number; file: string }[];
      return positions.filter((p) => p.pos !== statSync(p.file).size).map((p) => `${p.file} at ${p.pos} of ${statSync(p.file).size}`);
    };
    await until(() => `positions at the files' ends while running: ${behind().join('; ')}`, () => behind().length === 0, 5_000, 50);
    cli.kill('SIGTERM');
    assert.is((await cli.exited).code, 0, cli.stderr.slice(-2000));
    const c = compareLines(w.written, receiver.bodies);
    assert.equal([c.missing.length, c.unexpected.length], [0, 0], describeComparison(c));
    const perKill = PER_TICK * Math.ceil((WRITE_POS_INTERVAL + 100 + 200) / EVERY_MS) + SOURCE_PUTS_IN_FLIGHT * SOURCE_BATCH + SINK_BATCH;
    assert.ok(c.duplicates.length <= kills.length * perKill, `${c.duplicates.length} duplicates > ${kills.length} × ${perKill}`);
    console.log(`  kill -9: ${w.written.length} lines, ${rotations} rotations, ${kills.length} kills, 0 missing, ${c.duplicates.length} duplicates (bound ${kills.length} × ${perKill}) in runs ${runs(c.duplicates).join(' ')}`);
  } finally {
    try {
      steady.stop();
    } catch {
      // the assertion that matters already failed or passed
    }
    cli?.kill('SIGKILL');
    w.close();
    await receiver.close();
    cleanup();
  }
});

test('kill -9 long after the last durable position write (writePosInterval 10 min): the restart repeats no committed line', async () => {
  const { dir, cleanup, logs, receiver, conf } = await crashSetup({ writePosInterval: 600000 }, {});
  const positions = join(dir, 'state', 'positions.json');
  const w = new SeqWriter(join(logs, 'app.log'), 'P');
  let cli: Cli | undefined;
  try {
    cli = startCli(['agent', '-n', 'a', '-f', conf]);
    await cli.waitFor('agent a started', 'stderr');
    w.write(2000);
    await until('2000 lines delivered', () => compareLines(w.written, receiver.bodies).missing.length === 0, 20_000, 20);
    // the durable file still says where the agent started; the recent one follows the commits
    const recentAtEnd = (): boolean => {
      try {
        const e = (JSON.parse(readFileSync(`${positions}.recent`, 'utf8')) as { entries: { pos: number; file: string }[] }).entries;
        return e.length === 1 && e[0].pos === statSync(e[0].file).size;
      } catch {
        return false;
      }
    };
    await until('the recent positions at the end of app.log', recentAtEnd, 5_000, 10);
    cli.kill('SIGKILL');
    await cli.exited;
    cli = startCli(['agent', '-n', 'a', '-f', conf]);
    await cli.waitFor('agent a started', 'stderr');
    w.write(100);
    w.close();
    await until('2100 lines delivered', () => compareLines(w.written, receiver.bodies).missing.length === 0, 20_000, 20);
    cli.kill('SIGTERM');
    assert.is((await cli.exited).code, 0, cli.stderr.slice(-2000));
    const c = compareLines(w.written, receiver.bodies);
    assert.equal([c.missing.length, c.duplicates.length, c.unexpected.length], [0, 0, 0], describeComparison(c));
  } finally {
    cli?.kill('SIGKILL');
    w.close();
    await receiver.close();
    cleanup();
  }
});

/** Duplicated sequence numbers as contiguous runs (`K-000120..K-000180`): each kill should leave a run or two, not a scatter. */
function runs(lines: string[]): string[] {
  const nums = [...new Set(lines)].map((l) => Number(l.slice(2))).sort((x, y) => x - y);
  const out: string[] = [];
  for (let i = 0; i < nums.length; ) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === nums[j] + 1) j++;
    out.push(i === j ? `${nums[i]}` : `${nums[i]}..${nums[j]}`);
    i = j + 1;
  }
  return out;
}

test.run();
