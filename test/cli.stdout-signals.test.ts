import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeliveryError } from '../src/core/errors.ts';
import { LoggerSink } from '../src/sinks/logger.ts';
import { Cli, cliCommand, ROOT, startCli } from './helpers/cli.ts';
import { tempDir, until } from './helpers/poll.ts';

/**
 * What happens to the agent when the world around stdout goes away, with the
 * real CLI in quick mode (TAILDIR → file channel → logger sink on stdout):
 * its reader closes the pipe (`| head -3`), stdout's writes fail (a full
 * disk), the terminal closes (SIGHUP). Each must be a clean stop or a retry,
 * never a crash that leaves locks behind and positions unsaved; and whatever
 * stdout did not take stays in the channel for the next run.
 */

const lineOf = (i: number): string => `line-${i}`;
const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, k) => lineOf(from + k));
const linesOf = (s: string): string[] => s.split('\n').filter(Boolean);

function setup(lines: number): { dir: string; logs: string; file: string; state: string; cleanup: () => void } {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const file = join(logs, 'app.log');
  writeFileSync(file, lines ? range(1, lines).join('\n') + '\n' : '');
  return { dir, logs, file, state: join(dir, 'state'), cleanup };
}

/** The channel's lock files: a clean stop removes them. */
function locksLeft(state: string): string[] {
  return ['checkpoint', 'data'].map((d) => join(state, 'channel', d, 'in_use.lock')).filter((p) => existsSync(p));
}

function assertNoCrash(stderr: string): void {
  assert.not.match(stderr, /Unhandled|^\s+at /m, `no crash, no stack trace\n${stderr.slice(-3000)}`);
}

/** The CLI's exit, or an error after `ms` (the caller's finally kills it). */
async function exitWithin(cli: Cli, ms = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the CLI did not exit within ${ms} ms\n--- stderr:\n${cli.stderr.slice(-3000)}`)), ms);
  });
  try {
    return await Promise.race([cli.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A restart whose stdout is read to the end: every line it prints once `last` has come (then SIGTERM, exit 0). */
async function restartAndRead(logs: string, state: string, last: string): Promise<string[]> {
  const cli = startCli(['--watch', logs, '--data-dir', state]);
  try {
    await until(() => `${last} from the restart\n--- stdout:\n${cli.stdout.slice(-1000)}\n--- stderr:\n${cli.stderr.slice(-2000)}`, () => linesOf(cli.stdout).includes(last), 20_000);
    assert.is(await cli.stop(), 0, `the restart stops cleanly\n${cli.stderr.slice(-2000)}`);
    return linesOf(cli.stdout);
  } finally {
    cli.kill('SIGKILL');
  }
}

test('`flume-tail --watch … | head -3`: a clean stop, exit 0, locks released; the restart prints every line the pipe did not take, none twice', async () => {
  const N = 5000;
  const { dir, logs, state, cleanup } = setup(N);
  const codeFile = join(dir, 'code');
  // exactly the user's pipeline, through a shell; flume-tail's exit code goes to a file (sh has no PIPESTATUS)
  const sh = new Cli(spawn('sh', ['-c', '{ "$@"; echo "$?" > "$0"; } | head -3', codeFile, ...cliCommand('node'), '--watch', logs, '--from-beginning', '--data-dir', state], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  }));
  try {
    await until(() => `flume-tail's exit code\n--- stderr:\n${sh.stderr.slice(-3000)}`, () => existsSync(codeFile) && readFileSync(codeFile, 'utf8').trim(), 20_000);
    await exitWithin(sh);
    assert.equal(linesOf(sh.stdout), range(1, 3), 'head printed the first 3 lines');
    assert.is(readFileSync(codeFile, 'utf8').trim(), '0', `flume-tail exits 0 when its reader is gone\n${sh.stderr.slice(-3000)}`);
    assertNoCrash(sh.stderr);
    assert.match(sh.stderr, 'stdout closed: stopping');
    assert.match(sh.stderr, 'agent quick stopped');
    assert.equal(locksLeft(state), [], 'the channel locks are released');

    // The batches the pipe accepted are committed (head read what it wanted of them and dropped the
    // rest, as a pipe does); the batch that met EPIPE and everything after it stayed in the channel
    // or the file: the restart prints them, from there on, each once.
    const again = await restartAndRead(logs, state, lineOf(N));
    const k = Number(again[0]?.slice('line-'.length));
    assert.ok(k > 3, `the restart does not print again what head printed (first line: ${again[0]})`);
    assert.equal(again, range(k, N), 'the restart prints every line from the first not taken by the pipe to the last, each once');
  } finally {
    if (sh.child.exitCode === null && sh.child.signalCode === null) process.kill(-sh.child.pid!, 'SIGKILL');
    cleanup();
  }
});

test('stdout closed by its reader: the batch that met EPIPE stays in the channel; the two runs together print every line once', async () => {
  const { logs, file, state, cleanup } = setup(50);
  let cli: Cli | undefined;
  try {
    cli = startCli(['--watch', logs, '--from-beginning', '--data-dir', state]);
    await until(() => `the first 50 lines\n${cli!.stderr.slice(-2000)}`, () => linesOf(cli!.stdout).length >= 50, 20_000);
    const first = linesOf(cli.stdout);
    assert.equal(first, range(1, 50));
    // every byte written so far has been read: the pipe is empty when its read end closes
    cli.child.stdout!.destroy();
    appendFileSync(file, range(51, 100).join('\n') + '\n');
    const { code, signal } = await exitWithin(cli);
    assert.equal([code, signal], [0, null], `a clean stop when stdout's reader is gone\n${cli.stderr.slice(-3000)}`);
    assertNoCrash(cli.stderr);
    assert.match(cli.stderr, 'stdout closed: stopping');
    assert.equal(locksLeft(state), [], 'the channel locks are released');

    const second = await restartAndRead(logs, state, lineOf(100));
    assert.equal(second, range(51, 100), 'the restart prints the lines stdout refused, and nothing printed before');
    assert.equal([...first, ...second], range(1, 100), 'both runs together: every line, once');
  } finally {
    cli?.kill('SIGKILL');
    cleanup();
  }
});

test('a stdout whose writes fail (ENOSPC, /dev/full): deliveries roll back and are retried, no crash; nothing is lost', async () => {
  if (!existsSync('/dev/full')) return;
  const { logs, state, cleanup } = setup(30);
  const full = openSync('/dev/full', 'w');
  const [cmd, ...pre] = cliCommand('node');
  const cli = new Cli(spawn(cmd, [...pre, '--watch', logs, '--from-beginning', '--data-dir', state], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', FLUME_TAIL_LOG_LEVEL: 'info' },
    stdio: ['ignore', full, 'pipe'],
  }));
  closeSync(full);
  try {
    await cli.waitFor(/delivery of \d+ events failed \(attempt 1\), rolled back/, 'stderr');
    await cli.waitFor(/delivery of \d+ events failed \(attempt 2\), rolled back/, 'stderr');
    assert.match(cli.stderr, 'ENOSPC');
    assert.is(cli.child.exitCode, null, `still running, retrying\n${cli.stderr.slice(-2000)}`);
    assert.is(await cli.stop(), 0, `SIGTERM stops it cleanly\n${cli.stderr.slice(-2000)}`);
    assertNoCrash(cli.stderr);
    assert.not.match(cli.stderr, 'stdout closed', 'ENOSPC is retried, not taken for a closed pipe');
    assert.equal(await restartAndRead(logs, state, lineOf(30)), range(1, 30), 'every line, once, when stdout works again');
  } finally {
    cli.kill('SIGKILL');
    cleanup();
  }
});

test('SIGHUP (the terminal closed) stops the agent as SIGTERM does: the stop logged, exit 0, locks released, positions saved', async () => {
  const { logs, file, state, cleanup } = setup(20);
  let cli: Cli | undefined;
  try {
    cli = startCli(['--watch', logs, '--from-beginning', '--data-dir', state]);
    await until(() => `the 20 lines\n${cli!.stderr.slice(-2000)}`, () => linesOf(cli!.stdout).length >= 20, 20_000, 5);
    // at once: the positions of these lines may not have been written yet (they are, within 250 ms)
    cli.kill('SIGHUP');
    const { code, signal } = await exitWithin(cli);
    assert.equal([code, signal], [0, null], `exit 0 as on SIGTERM\n${cli.stderr.slice(-3000)}`);
    assert.match(cli.stderr, 'SIGHUP: stopping');
    assert.match(cli.stderr, 'agent quick stopped');
    assert.equal(linesOf(cli.stdout), range(1, 20));
    assert.equal(locksLeft(state), [], 'the channel locks are released');

    appendFileSync(file, range(21, 25).join('\n') + '\n');
    assert.equal(await restartAndRead(logs, state, lineOf(25)), range(21, 25), 'the restart delivers only the new lines');
  } finally {
    cli?.kill('SIGKILL');
    cleanup();
  }
});

/**
 * A stdout stand-in: a write reports its outcome to its callback and a failure
 * also as an 'error' event, and the stream stays usable (process.stdout does;
 * a plain Writable would hold every later write after an error). Writes fail
 * with `codes`, in turn, then succeed; with `hold`, each waits for `release`.
 */
class FakeStdout extends EventEmitter {
  readonly writable = true;
  got = '';
  private held: (() => void)[] = [];
  constructor(private readonly codes: string[] = [], private readonly hold = false) {
    super();
  }
  write(text: string, cb?: (err?: Error | null) => void): boolean {
    const done = (): void => {
      const code = this.codes.shift();
      if (!code) {
        this.got += text;
        cb?.();
        return;
      }
      const err = Object.assign(new Error(`write ${code}`), { code });
      cb?.(err);
      process.nextTick(() => this.emit('error', err));
    };
    if (this.hold) this.held.push(done);
    else process.nextTick(done);
    return true;
  }
  release(): void {
    for (const d of this.held.splice(0)) d();
  }
}

const ev = (body: string) => ({ headers: {}, body: Buffer.from(body) });

test('logger sink: a failed write fails the delivery (the runner rolls back and retries); the stream\'s error event is handled', async () => {
  const out = new FakeStdout(['EIO']);
  const sink = new LoggerSink('k', { batchSize: 10, maxBytesToLog: 16, format: 'text' }, out);
  await sink.start();
  try {
    const err = await sink.deliver([ev('a'), ev('b')]).then(() => undefined, (e: unknown) => e);
    assert.instance(err, DeliveryError, 'the delivery fails');
    assert.match((err as Error).message, 'write EIO');
    // the 'error' event the failed write emits must not reach the process as an unhandled one
    await new Promise((r) => setImmediate(r));
    await sink.deliver([ev('a'), ev('b')]);
    assert.is(out.got, 'a\nb\n', 'the retry prints the batch');
  } finally {
    await sink.stop();
  }

  // a delivery resolves only once the write is done, not when it is merely queued
  const slow = new FakeStdout([], true);
  const s2 = new LoggerSink('k', { batchSize: 10, maxBytesToLog: 16, format: 'flume' }, slow);
  await s2.start();
  let done = false;
  const p = s2.deliver([ev('x')]).then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  assert.not.ok(done, 'not delivered while the write is pending');
  slow.release();
  await p;
  assert.match(slow.got, 'Event: { headers:{} body: 78');
  await s2.stop();

  // a writer that is no stream (the dashboard's pane) and throws
  const s3 = new LoggerSink('k', { batchSize: 10, maxBytesToLog: 16, format: 'text' }, { write: () => { throw new Error('pane gone'); } });
  const err3 = await s3.deliver([ev('y')]).then(() => undefined, (e: unknown) => e);
  assert.instance(err3, DeliveryError);
});

test.run();
