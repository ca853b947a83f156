import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, startCli, type Cli } from './helpers/cli.ts';
import { LineClient } from './helpers/net.ts';
import { Receiver } from './helpers/receiver.ts';
import { tempDir, until } from './helpers/poll.ts';

/**
 * Quick mode's flags as a user types them: paths with any characters, relative
 * excludes, an IPv6 `--netcat`, and bad values reported against the flag
 * (exit 2, like any usage error), never against the generated config.
 */

/** Resolves once the agent has started; fails at once (with its output) if it exits first. */
async function started(cli: Cli): Promise<void> {
  let exited: { code: number | null } | undefined;
  void cli.exited.then((e) => (exited = e));
  await until(() => `"agent quick started"\n--- stderr:\n${cli.stderr.slice(-2000)}`, () => exited || cli.stderr.includes('agent quick started'), 20_000);
  if (exited) throw new Error(`the CLI exited (code ${exited.code}) before starting:\n${cli.stderr.slice(-2000)}`);
}

/** The paths TAILDIR tracks now, from the agent's `/snapshot` (port from its `metrics on` line). */
async function trackedFiles(cli: Cli): Promise<string[]> {
  const port = /metrics on http:\/\/127\.0\.0\.1:(\d+)\//.exec(cli.stderr)?.[1];
  if (!port) throw new Error(`no metrics line in:\n${cli.stderr}`);
  const snap = (await (await fetch(`http://127.0.0.1:${port}/snapshot`)).json()) as { components: { name: string; details?: { files?: { path: string }[] } }[] };
  return (snap.components.find((c) => c.name === 'tail')?.details?.files ?? []).map((f) => f.path).sort();
}

function lines(cli: Cli): string[] {
  return cli.stdout.split('\n').filter(Boolean).sort();
}

/**
 * Waits until the lines of `late` (a file written after the start) are printed: discovery found it in a
 * later scan, so the first scan (which would have listed an excluded file) is over.
 */
async function afterFirstScan(cli: Cli, late: string, line: string): Promise<void> {
  writeFileSync(late, `${line}\n`);
  await until(() => `${line} on stdout; got:\n${cli.stdout}\n--- stderr:\n${cli.stderr.slice(-2000)}`, () => cli.stdout.includes(`${line}\n`), 20_000);
}

test('--watch, --exclude and --data-dir take paths with spaces, backslashes, # = : $ and non-ASCII exactly as given', async () => {
  const { dir, cleanup } = tempDir();
  // characters a properties value or Flume's space-separated list would read differently (no glob
  // characters: a --watch path with * ? [ ] { } ( ) ! is a glob)
  const logs = join(dir, 'my logs #=:é\\x $HOME ,y');
  mkdirSync(join(logs, 'sub'), { recursive: true });
  writeFileSync(join(logs, 'a.log'), 'in-odd-dir\n');
  writeFileSync(join(logs, 'sub', 'skip.log'), 'excluded-by-path\n');
  writeFileSync(join(logs, 'old copy.log'), 'excluded-by-name\n');
  const state = join(dir, 'state dir, ${QF_SUBST} #');
  // Were the data dir split or substituted again, the pieces would land in the temp dir, not in $HOME or the repo.
  const cli = startCli(['--watch', logs, '--exclude', join(logs, 'sub', '*'), '--exclude', 'old copy.log', '--from-beginning', '--data-dir', state, '--metrics-port', '0'], {
    cwd: dir,
    env: { QF_SUBST: join(dir, 'substituted') },
  });
  try {
    await started(cli);
    await afterFirstScan(cli, join(logs, 'late.log'), 'late');
    assert.equal(lines(cli), ['in-odd-dir', 'late']);
    assert.equal(await trackedFiles(cli), [join(logs, 'a.log'), join(logs, 'late.log')]);
    // the state lives in the data dir as typed: not split at the space or comma, ${QF_SUBST} not substituted
    assert.ok(existsSync(join(state, 'channel', 'checkpoint')), 'checkpoint dir under --data-dir');
    assert.ok(existsSync(join(state, 'channel', 'data')), 'data dir under --data-dir');
    await until('positions written', () => existsSync(join(state, 'taildir', 'positions.json')) && readFileSync(join(state, 'taildir', 'positions.json'), 'utf8').includes('late.log'));
    assert.is(await cli.stop(), 0);
  } finally {
    cli.kill('SIGKILL');
    await cli.exited;
    cleanup();
  }
});

test('a relative --exclude with a "/" is taken from the current directory, like --watch; one without matches names anywhere', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(join(logs, 'live'), { recursive: true });
  mkdirSync(join(logs, 'old'), { recursive: true });
  writeFileSync(join(logs, 'live', 'a.tmp'), 'live-tmp\n');
  writeFileSync(join(logs, 'live', 'b.log'), 'live-log\n');
  writeFileSync(join(logs, 'c.tmp'), 'top-tmp\n');
  writeFileSync(join(logs, 'old', 'd.tmp'), 'old-tmp\n');
  writeFileSync(join(logs, 'e.bak'), 'bak\n');
  const cwd = join(logs, 'live');
  // relative to cwd (logs/live): `../old/*.tmp` is logs/old/*.tmp, `./*.tmp` is logs/live/*.tmp
  const cli = startCli(['--watch', '..', '--exclude', './*.tmp', '--exclude', '../old/*.tmp', '--exclude', '*.bak', '--from-beginning', '--data-dir', join(dir, 'state'), '--metrics-port', '0'], { cwd });
  try {
    await started(cli);
    await afterFirstScan(cli, join(logs, 'late.log'), 'late');
    assert.equal(lines(cli), ['late', 'live-log', 'top-tmp']);
    assert.equal(await trackedFiles(cli), [join(logs, 'c.tmp'), join(logs, 'late.log'), join(logs, 'live', 'b.log')]);
  } finally {
    cli.kill('SIGTERM');
    await cli.exited;
    cleanup();
  }
});

test('a bad --metrics-port (or -Dflume.monitoring port or type) is a usage error naming the flag and what it takes (exit 2), in quick mode and for agent', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    for (const bad of ['abc', '99999', '80.5', '-1']) {
      const r = await runCli(['--watch', logs, '--data-dir', join(dir, 'state'), `--metrics-port=${bad}`]);
      assert.is(r.code, 2, `--metrics-port ${bad}: exit code\n${r.stderr}`);
      assert.match(r.stderr, `--metrics-port: "${bad}": not a port; expected a port from 0 to 65535`);
      assert.not.match(r.stderr, 'options.port');
      assert.not.match(r.stderr, 'agent quick started');
    }
    const agent = await runCli(['agent', '-n', 'a', '-f', join(dir, 'none.properties'), '--metrics-port', '65536']);
    assert.is(agent.code, 2, agent.stderr);
    assert.match(agent.stderr, '--metrics-port: "65536": not a port');
    const d = await runCli(['-Dflume.monitoring.type=http', '-Dflume.monitoring.port=x1', '--watch', logs, '--data-dir', join(dir, 'state')]);
    assert.is(d.code, 2, d.stderr);
    assert.match(d.stderr, '-Dflume.monitoring.port: "x1": not a port');
    const g = await runCli(['agent', '-n', 'a', '-f', join(dir, 'none.properties'), '-Dflume.monitoring.type=ganglia', '-Dflume.monitoring.hosts=h:8649']);
    assert.is(g.code, 2, g.stderr);
    assert.match(g.stderr, '-Dflume.monitoring.type: "ganglia": not supported; expected http or prometheus');
    // --metrics-port serves http, not the ganglia the -D asked for: still an error, not a silent switch
    const gp = await runCli(['agent', '-n', 'a', '-f', join(dir, 'none.properties'), '--metrics-port', '0', '-Dflume.monitoring.type=ganglia']);
    assert.is(gp.code, 2, gp.stderr);
    assert.match(gp.stderr, '-Dflume.monitoring.type: "ganglia": not supported');
  } finally {
    cleanup();
  }
});

test('bad --netcat and --http values are usage errors naming the flag, not the generated config', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    const cases: [string[], string][] = [
      [['--netcat', 'localhost:abc'], '--netcat: "localhost:abc": the port "abc" is not a number from 0 to 65535; expected HOST:PORT, [IPv6]:PORT or PORT'],
      [['--netcat', '127.0.0.1:70000'], '--netcat: "127.0.0.1:70000": the port "70000"'],
      [['--netcat', '[::1]'], '--netcat: "[::1]": no port after the address'],
      [['--netcat', '[::1:5'], '--netcat: "[::1:5": no "]" after the IPv6 address'],
      [['--netcat', '::1:5'], '--netcat: "::1:5": an IPv6 address without brackets'],
      [['--http', 'ftp://example.com/'], '--http: "ftp://example.com/" is not an http:// or https:// URL'],
      [['--dead-letter-dir', join(dir, 'dlq')], '--dead-letter-dir: given without --http'],
      [['--http', 'http://127.0.0.1:9/', '--dead-letter-dir', join(dir, 'a'), '--dead-letter-dir', join(dir, 'b')], `--dead-letter-dir was given 2 times ("${join(dir, 'a')}", "${join(dir, 'b')}"); give it once`],
      [['--http', 'http://127.0.0.1:9/', '--http', 'http://127.0.0.1:8/'], '--http was given 2 times'],
      [['--data-dir', join(dir, 'other')], '--data-dir was given 2 times'],
      [['--exclude', ''], '--exclude: an empty glob'],
    ];
    for (const [flags, message] of cases) {
      const r = await runCli(['--watch', logs, '--data-dir', join(dir, 'state'), ...flags]);
      assert.is(r.code, 2, `${flags.join(' ')}: exit code\n${r.stderr}`);
      assert.match(r.stderr, message);
      assert.not.match(r.stderr, /quick\.(sources|sinks)|\(quick mode\)/);
      assert.not.match(r.stderr, 'agent quick started');
    }
  } finally {
    cleanup();
  }
});

/** A free TCP port on ::1, or undefined where this host has no IPv6 loopback. */
async function freeV6Port(): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(0, '::1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

test('--netcat [::1]:PORT listens on the IPv6 address (brackets stripped)', async () => {
  const port = await freeV6Port();
  if (port === undefined) {
    console.log('  (skipped: no IPv6 loopback on this host)');
    return;
  }
  const { dir, cleanup } = tempDir();
  const cli = startCli(['--netcat', `[::1]:${port}`, '--data-dir', join(dir, 'state')]);
  try {
    await started(cli);
    assert.match(cli.stderr, `listening on ::1:${port}`);
    const client = await LineClient.connect(port, '::1');
    client.send('over ipv6\n');
    await until('OK', () => client.lines().length === 1);
    await cli.waitFor('over ipv6\n', 'stdout');
    client.close();
  } finally {
    cli.kill('SIGTERM');
    await cli.exited;
    cleanup();
  }
});

test('--dead-letter-dir: batches the receiver rejects for good are written there as ndjson, and the lines after them are delivered', async () => {
  const { dir, cleanup } = tempDir();
  const receiver = new Receiver();
  const port = await receiver.listen();
  // lines marked "bad" are refused for good (400), the others taken
  receiver.respond = () => 200;
  const logs = join(dir, 'logs');
  const dlq = join(dir, 'rejected');
  mkdirSync(logs);
  const cli = startCli(['--watch', logs, '--data-dir', join(dir, 'state'), '--http', `http://127.0.0.1:${port}/ingest`, '--dead-letter-dir', dlq]);
  try {
    await cli.waitFor('agent quick started', 'stderr');
    receiver.respond = () => 400;
    appendFileSync(join(logs, 'app.log'), Array.from({ length: 30 }, (_, i) => `bad ${i}\n`).join(''));
    const kept = (): string[] => (existsSync(dlq) ? readdirSync(dlq) : []).flatMap((f) => readFileSync(join(dlq, f), 'utf8').split('\n').filter(Boolean)).map((l) => (JSON.parse(l) as { body: string }).body);
    await until(() => `30 rejected lines in ${dlq} (have ${kept().length})`, () => kept().length === 30);
    assert.equal([...kept()].sort(), Array.from({ length: 30 }, (_, i) => `bad ${i}`).sort());
    await cli.waitFor(/rejected 30 events \(HTTP 400 fail\); written to/, 'stderr');
    // the channel is not held up by them: what comes next is delivered
    receiver.respond = () => 200;
    appendFileSync(join(logs, 'app.log'), Array.from({ length: 20 }, (_, i) => `good ${i}\n`).join(''));
    await until(() => `20 good lines delivered (have ${receiver.bodies.length})`, () => receiver.bodies.filter((b) => b.startsWith('good')).length === 20);
    assert.is(receiver.bodies.filter((b) => b.startsWith('bad')).length, 0);
  } finally {
    await cli.stop();
    await receiver.close();
    cleanup();
  }
});

test.run();
