// The chaos run, shared by scripts/chaos.ts (npm run chaos) and the short
// version in the test suite. Everything is real: the CLI under a runtime, files
// rotated on disk, a receiver on loopback that misbehaves, kill -9.
//
//  1. kills:     a writer appends sequenced lines to several files, rotating
//                by rename and by copytruncate, while the agent is kill -9'ed
//                at random moments and restarted, and the receiver answers 503
//                or drops the connection at random; then faults stop and every
//                line must arrive.
//  2. bad input: a 10 MB line without newline, binary garbage, invalid UTF-8,
//                a file replaced by a directory, a file with mode 000 — the
//                agent keeps running, counts them, and loses no other line.
//  3. disk full: minimumRequiredSpace above the free space of the data dir's
//                file system: puts fail with ChannelFullError, the reader
//                pauses, nothing is lost; restarted with a lower value (config
//                reload does not exist) it resumes and delivers everything.
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statfsSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/net.ts';
import { tempDir } from '../../test/helpers/poll.ts';
import { counter, dacCapsDroppable, getMetrics, startAgent, stopAgent, type Cli, type Runtime } from './agent.ts';
import { AccessLines, nowMicros } from './loggen.ts';
import { CountingReceiver } from './receiver.ts';

export interface ChaosOptions {
  runtime: Runtime;
  /** kill -9 count in phase 1. */
  kills: number;
  /** Lines per second the writer appends during phase 1. */
  rate: number;
  files: number;
  badInputs: boolean;
  diskFull: boolean;
  log: (line: string) => void;
}

export interface ChaosResult {
  lines: number;
  missing: number;
  missingSample: number[];
  duplicates: number;
  copyDuplicates: number;
  kills: number;
  rotations: { rename: number; copytruncate: number };
  receiver: { requests: number; failedOnPurpose: number; dropped: number; otherLines: number };
  notes: string[];
  badInputCounters?: Record<string, number>;
  /** a file the agent could not open (mode 000, the agent without root's capabilities): its refusals counted (EventReadFail's rise), and read whole once readable */
  permission?: { denied: boolean; readFails: number; deliveredAfter: boolean };
  diskFull?: { channelWriteFail: number; deliveredWhileFull: number; sawFullLog: boolean; agentAlive: boolean };
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function config(dir: string, httpPort: number, minimumRequiredSpace: number): string {
  return [
    'a.sources = tail',
    'a.channels = ch',
    'a.sinks = out',
    'a.sources.tail.type = TAILDIR',
    'a.sources.tail.filegroups = g',
    // rotated (.log.N) and copied (.log.copyN) files match too: a tailer that
    // stops at the rename would lose what it had not read before a crash
    `a.sources.tail.filegroups.g = ${join(dir, 'logs')}/.*\\.log.*`,
    `a.sources.tail.positionFile = ${join(dir, 'state', 'positions.json')}`,
    'a.sources.tail.fileHeader = true',
    'a.sources.tail.batchSize = 200',
    'a.sources.tail.writePosInterval = 500',
    'a.sources.tail.backoffSleepIncrement = 100',
    'a.sources.tail.maxBackoffSleep = 500',
    'a.sources.tail.channels = ch',
    'a.channels.ch.type = file',
    `a.channels.ch.checkpointDir = ${join(dir, 'state', 'checkpoint')}`,
    `a.channels.ch.dataDirs = ${join(dir, 'state', 'data')}`,
    'a.channels.ch.checkpointInterval = 1000',
    `a.channels.ch.minimumRequiredSpace = ${minimumRequiredSpace}`,
    'a.sinks.out.type = http',
    `a.sinks.out.endpoint = http://127.0.0.1:${httpPort}/ingest`,
    'a.sinks.out.format = ndjson',
    'a.sinks.out.batchSize = 500',
    'a.sinks.out.connectTimeout = 500',
    'a.sinks.out.requestTimeout = 2000',
    'a.sinks.out.initialBackoff = 20',
    'a.sinks.out.maxBackoff = 200',
    'a.sinks.out.channel = ch',
    '',
  ].join('\n');
}

/** Appends sequenced lines to several files and rotates them by rename and by copytruncate. */
class Writer {
  seq = 0;
  rotations = { rename: 0, copytruncate: 0 };
  private gen = new AccessLines();
  private n = 0;
  constructor(private readonly logs: string, private readonly files: number) {}

  path(i: number): string {
    return join(this.logs, `app${i}.log`);
  }

  append(file: string, count: number, prefix = ''): void {
    const t = nowMicros();
    let chunk = '';
    for (let i = 0; i < count; i++) chunk += this.gen.line(this.seq++, t, prefix);
    const fd = openSync(file, 'a');
    writeSync(fd, chunk);
    closeSync(fd);
  }

  appendRandom(count: number): void {
    this.append(this.path(Math.floor(Math.random() * this.files)), count);
  }

  /** Rename rotation (logrotate's default) or copytruncate, on a random file. */
  rotate(): void {
    const p = this.path(Math.floor(Math.random() * this.files));
    if (!existsSync(p)) return;
    const k = this.n++;
    if (Math.random() < 0.5) {
      renameSync(p, `${p}.${k}`);
      this.rotations.rename++;
    } else {
      // synchronous: nothing is appended between the copy and the truncation
      copyFileSync(p, `${p}.copy${k}`);
      truncateSync(p, 0);
      this.rotations.copytruncate++;
    }
  }
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const t0 = performance.now();
  const { dir, cleanup } = tempDir('chaos-');
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  mkdirSync(join(dir, 'state'), { recursive: true });
  const receiver = new CountingReceiver();
  receiver.parse = 'json';
  receiver.copyPattern = /\.copy\d+$/;
  const httpPort = await receiver.listen();
  const metricsPort = await freePort();
  const conf = join(dir, 'agent.properties');
  writeFileSync(conf, config(dir, httpPort, 1024 * 1024));
  const writer = new Writer(logs, o.files);
  const notes: string[] = [];
  /** seqs that must not be expected (a file that cannot be read); from..to ranges */
  const excused: [number, number][] = [];
  let agent: Cli | undefined;
  // as root, only an agent without root's read-anything capabilities is denied a file of mode 000
  const dropDacCaps = o.badInputs && dacCapsDroppable();
  const start = () => startAgent(['agent', '-n', 'a', '-f', conf, '--metrics-port', String(metricsPort)], { runtime: o.runtime, dropDacCaps });
  const result: Partial<ChaosResult> = {};
  try {
    // ---------------------------------------------------------------- 1. kills
    receiver.faults = { p503: 0.1, pDrop: 0.05 };
    agent = start();
    let kills = 0;
    let stop = false;
    const writing = (async () => {
      let last = performance.now();
      let nextRotate = last + 200 + Math.random() * 400;
      while (!stop) {
        await sleep(10);
        const now = performance.now();
        const due = Math.round((o.rate * (now - last)) / 1000);
        last = now;
        for (let left = due; left > 0; left -= 50) writer.appendRandom(Math.min(50, left));
        if (now > nextRotate) {
          writer.rotate();
          nextRotate = now + 200 + Math.random() * 400;
        }
      }
    })();
    while (kills < o.kills) {
      await sleep(300 + Math.random() * 1200);
      const victim = agent;
      victim.kill('SIGKILL');
      await victim.exited;
      kills++;
      if (victim.stderr.includes('Error') && /uncaught|unhandled/i.test(victim.stderr)) notes.push(`agent crashed on its own before kill ${kills}:\n${victim.stderr.slice(-1500)}`);
      agent = start();
    }
    stop = true;
    await writing;
    receiver.faults = { p503: 0, pDrop: 0 };
    const phase1Lines = writer.seq;
    o.log(`chaos: phase 1 wrote ${phase1Lines} lines into ${o.files} files (${writer.rotations.rename} renames, ${writer.rotations.copytruncate} copytruncates), ${kills} kills; draining`);
    await waitAll(receiver, phase1Lines, excused, 60_000);
    result.kills = kills;

    // ---------------------------------------------------------------- 2. bad inputs
    if (o.badInputs) {
      await agent.waitFor(/agent a started/, 'any', 30_000);
      // a 10 MB line without a newline (split in maxLineLength pieces by longLines = split)
      writeFileSync(join(logs, 'huge.log'), Buffer.alloc(10 * 1024 * 1024, 'x'));
      // binary garbage (no seq in it; arrives as base64 bodies or not at all, never crashes)
      writeFileSync(join(logs, 'garbage.log'), randomBytes(1024 * 1024));
      // invalid UTF-8 around sequenced lines: these must all arrive
      const bad = Buffer.concat(Array.from({ length: 200 }, (_, i) => Buffer.concat([
        Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(new AccessLines().line(writer.seq++, nowMicros()).slice(0, -1)), Buffer.from(i % 2 ? [0xe2, 0x82] : [0x80]), Buffer.from('\n'),
      ])));
      writeFileSync(join(logs, 'utf8.log'), bad);
      // a file replaced by a directory once it has been read
      const victim = join(logs, 'victim.log');
      writer.append(victim, 500);
      await waitAll(receiver, writer.seq, excused, 30_000);
      rmSync(victim);
      mkdirSync(victim);
      writeFileSync(join(victim, 'inner.txt'), 'inside a directory that replaced a file\n');
      // permission denied: the file is made unreadable before it is in the agent's paths (moved in), so the agent
      // never reads it early; once it is readable again and written to, every line of it must arrive
      const secret = join(logs, 'secret.log');
      const secretOutside = join(dir, 'secret.log');
      const first = writer.seq;
      writer.append(secretOutside, 300);
      chmodSync(secretOutside, 0o000);
      const denied = process.getuid?.() !== 0 || dropDacCaps;
      const failsBefore = counter(await getMetrics(metricsPort), 'SOURCE.tail', 'EventReadFail');
      renameSync(secretOutside, secret);
      let refusals = 0;
      if (denied) {
        excused.push([first, writer.seq]);
        // the agent has found the file and been refused (a listing comes at the latest with its next rescan)
        const until = performance.now() + 10_000;
        while (refusals === 0 && performance.now() < until) {
          await sleep(50);
          refusals = counter(await getMetrics(metricsPort), 'SOURCE.tail', 'EventReadFail') - failsBefore;
        }
      } else {
        notes.push(`permission denied is not tested: this runs as uid 0 without setpriv, and root reads a file of mode 000 like any other`);
      }
      // the normal files go on
      for (let i = 0; i < 20; i++) {
        writer.appendRandom(100);
        await sleep(20);
      }
      await waitAll(receiver, writer.seq, excused, 60_000);
      const alive = agent.child.exitCode === null && agent.child.signalCode === null;
      if (!alive) throw new Error(`the agent died on bad input:\n${agent.stderr.slice(-3000)}`);
      const m = await getMetrics(metricsPort);
      const keys = ['LinesSplit', 'LinesTruncated', 'EventReadFail', 'BytesAbandoned', 'GenericProcessingFail', 'EventAcceptedCount'];
      result.badInputCounters = Object.fromEntries(keys.map((k) => [k, counter(m, 'SOURCE.tail', k)]));
      if (denied) {
        // readable again, and written to: nothing of it may be lost
        chmodSync(secret, 0o644);
        writer.append(secret, 10);
        excused.pop();
        await waitAll(receiver, writer.seq, excused, 30_000);
        result.permission = { denied: true, readFails: refusals, deliveredAfter: countMissingOf(receiver, writer.seq, excused) === 0 };
      } else {
        result.permission = { denied: false, readFails: 0, deliveredAfter: false };
      }
      o.log(`chaos: bad inputs survived; source counters ${JSON.stringify(result.badInputCounters)}; ${receiver.s.other} lines without seq delivered (garbage, the 10 MB line's pieces)`);
    }

    // ---------------------------------------------------------------- 3. disk full
    if (o.diskFull) {
      await stopAgent(agent, 15_000);
      const fs = statfsSync(join(dir, 'state'));
      const free = fs.bavail * fs.bsize;
      writeFileSync(conf, config(dir, httpPort, free + 10 * 1024 * 1024 * 1024));
      agent = start();
      await agent.waitFor(/agent a started/, 'any', 30_000);
      const before = writer.seq;
      for (let i = 0; i < 10; i++) writer.appendRandom(100);
      let writeFail = 0;
      const deadline = Date.now() + 20_000;
      while (writeFail === 0 && Date.now() < deadline) {
        await sleep(100);
        writeFail = counter(await getMetrics(metricsPort).catch(() => ({})), 'SOURCE.tail', 'ChannelWriteFail');
      }
      await sleep(1000); // a second more: the reader stays paused, nothing gets through
      const deliveredWhileFull = writer.seq - before - receiver.countMissing(before, writer.seq);
      const sawFullLog = /channel is full/.test(agent.output);
      const agentAlive = agent.child.exitCode === null;
      result.diskFull = { channelWriteFail: writeFail, deliveredWhileFull, sawFullLog, agentAlive };
      o.log(`chaos: disk full (minimumRequiredSpace ${Math.round((free + 10 * 1024 ** 3) / 1024 ** 2)} MB > ${Math.round(free / 1024 ** 2)} MB free): ChannelWriteFail ${writeFail}, ${deliveredWhileFull} of ${writer.seq - before} new lines delivered while full, "channel is full" logged: ${sawFullLog}, agent alive: ${agentAlive}`);
      if (writeFail === 0 || deliveredWhileFull > 0 || !agentAlive) notes.push('disk full: the agent did not back off as expected');
      // space "returns": restart with a lower value (there is no config reload)
      await stopAgent(agent, 15_000);
      writeFileSync(conf, config(dir, httpPort, 1024 * 1024));
      agent = start();
      await waitAll(receiver, writer.seq, excused, 60_000);
      o.log('chaos: restarted with minimumRequiredSpace = 1 MB; every line held back while the disk was "full" arrived');
    }

    const missingList = missingOf(receiver, writer.seq, excused, 20);
    const st = receiver.stats();
    Object.assign(result, {
      lines: writer.seq,
      missing: countMissingOf(receiver, writer.seq, excused),
      missingSample: missingList,
      duplicates: st.duplicates,
      copyDuplicates: st.copyDuplicates,
      rotations: writer.rotations,
      receiver: { requests: st.requests, failedOnPurpose: st.failedOnPurpose, dropped: st.dropped, otherLines: st.other },
      notes,
      seconds: (performance.now() - t0) / 1000,
    });
    return result as ChaosResult;
  } finally {
    if (agent) await stopAgent(agent, 10_000).catch(() => undefined);
    await receiver.close();
    try {
      chmodSync(join(logs, 'secret.log'), 0o644);
    } catch {
      // not created in a short run
    }
    cleanup();
  }
}

function isExcused(seq: number, excused: [number, number][]): boolean {
  return excused.some(([a, b]) => seq >= a && seq < b);
}

function missingOf(r: CountingReceiver, n: number, excused: [number, number][], limit: number): number[] {
  return r.missing(0, n, Infinity).filter((s) => !isExcused(s, excused)).slice(0, limit);
}

function countMissingOf(r: CountingReceiver, n: number, excused: [number, number][]): number {
  return r.missing(0, n, Infinity).filter((s) => !isExcused(s, excused)).length;
}

/** Waits until every expected seq below `n` arrived; on timeout returns and the count tells. */
async function waitAll(r: CountingReceiver, n: number, excused: [number, number][], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (countMissingOf(r, n, excused) === 0) return;
    await sleep(100);
  }
}
