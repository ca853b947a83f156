import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cliCommand, runCli, startCli } from './helpers/cli.ts';
import { freePort, LineClient } from './helpers/net.ts';
import { tempDir, until } from './helpers/poll.ts';

test('--netcat adds a TCP source to the same file channel as --watch', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const port = await freePort();
  const cli = startCli(['--watch', logs, '--netcat', `127.0.0.1:${port}`, '--data-dir', join(dir, 'state')]);
  try {
    await cli.waitFor('agent quick started', 'stderr');
    const client = await LineClient.connect(port);
    client.send('over tcp\n');
    await until('OK', () => client.lines().length === 1);
    await cli.waitFor('over tcp\n', 'stdout');
    client.close();
  } finally {
    cli.kill('SIGTERM');
    await cli.exited;
    cleanup();
  }
});

test('a second agent on the same data dir refuses to start, naming the dir and the first agent\'s pid', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const state = join(dir, 'state');
  const first = startCli(['--watch', logs, '--data-dir', state]);
  try {
    await first.waitFor('agent quick started', 'stderr');
    const second = await runCli(['--watch', logs, '--data-dir', state]);
    assert.is(second.code, 1);
    assert.match(second.stderr, `is in use by another flume-tail (pid ${first.child.pid}`);
    assert.match(second.stderr, join(state, 'channel'));
    // the first one is untouched and still stops cleanly
    first.kill('SIGTERM');
    assert.is((await first.exited).code, 0);
  } finally {
    first.kill('SIGKILL');
    cleanup();
  }
});

test('no --watch and no command says what to do', async () => {
  const r = await runCli([]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /Nothing to do: give --watch PATH/);
});

test('quick mode prints a backlog in large batches: a few takes of up to 2000 lines, not one per 100 (Flume\'s logger default)', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  writeFileSync(join(logs, 'app.log'), Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join(''));
  const cli = startCli(['--watch', logs, '--from-beginning', '--data-dir', join(dir, 'state'), '--metrics-port', '0']);
  try {
    await cli.waitFor('agent quick started', 'stderr');
    await until('the backlog printed', () => cli.stdout.split('\n').filter(Boolean).length === 5000);
    const port = /metrics on http:\/\/127\.0\.0\.1:(\d+)\//.exec(cli.stderr)?.[1];
    let sink: Record<string, number> = {};
    // printed before its take is committed (and counted): the last take's count comes a moment later
    await until('the last take committed', async () => {
      const snap = (await (await fetch(`http://127.0.0.1:${port}/snapshot`)).json()) as { components: { name: string; counters: Record<string, number> }[] };
      sink = snap.components.find((c) => c.name === 'out')!.counters;
      return sink.EventDrainSuccessCount === 5000;
    });
    // the source puts 2000, 2000 and 1000 lines; takes of 1000 would be 5 at least, of 100 (Flume's) 50
    const takes = sink.BatchCompleteCount + sink.BatchUnderflowCount;
    assert.ok(takes >= 3 && takes <= 4, `${takes} takes of 5000 lines`);
    assert.is(await cli.stop(), 0);
  } finally {
    cli.kill('SIGKILL');
    await cli.exited;
    cleanup();
  }
});

test('quick mode prints each line byte for byte: bytes that are not UTF-8 are not replaced', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const lines = [Buffer.from('ok'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from([0xc3, 0x28, 0x7a]), Buffer.from([0x00, 0x01, 0x7f, 0xe2, 0x82]), Buffer.from('café')];
  const want = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
  writeFileSync(join(logs, 'b.log'), want);
  // stdout to a file, to see its bytes as written
  const outPath = join(dir, 'out.bin');
  const fd = openSync(outPath, 'w');
  const [cmd, ...args] = cliCommand('node');
  const child = spawn(cmd, [...args, '--watch', logs, '--from-beginning', '--data-dir', join(dir, 'state')], { stdio: ['ignore', fd, 'ignore'] });
  try {
    await until('every line printed', () => readFileSync(outPath).length >= want.length);
    const got = readFileSync(outPath);
    assert.ok(got.equals(want), `printed ${got.toString('hex')}, not ${want.toString('hex')}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    closeSync(fd);
    cleanup();
  }
});

test.run();
