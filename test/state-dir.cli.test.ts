import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startCli } from './helpers/cli.ts';
import { tempDir, until } from './helpers/poll.ts';
import { Receiver } from './helpers/receiver.ts';

/*
 * The agent's state dir under conditions an operator creates by accident:
 * removed while the agent runs, or named where no dir can be made.
 */

const lines = (tag: string, n: number): string => Array.from({ length: n }, (_, i) => `${tag} ${i + 1}\n`).join('');

/**
 * `rm -rf` of the data dir under a running agent whose receiver is down:
 * writes into the unlinked segment used to be acknowledged, positions moved
 * past those lines, and after a restart they were nowhere (0 of 1000
 * delivered, exit 0). Now the channel refuses puts once its segment has no
 * name, the agent exits non-zero, and a restart reads again every line
 * written after the removal.
 */
test('data dir removed while running: the agent exits 1 and no line written after the removal is lost', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  const state = join(dir, 'state');
  mkdirSync(logs);
  writeFileSync(join(logs, 'app.log'), '');
  const receiver = new Receiver();
  const port = await receiver.listen();
  receiver.respond = () => 503; // the receiver is down: everything stays in the channel
  const args = ['--watch', logs, '--data-dir', state, '--http', `http://127.0.0.1:${port}/ingest`];
  let cli = startCli(args);
  try {
    await cli.waitFor('agent quick started', 'stderr');
    appendFileSync(join(logs, 'app.log'), lines('before', 200));
    await cli.waitFor('503', 'stderr');
    rmSync(state, { recursive: true, force: true });
    appendFileSync(join(logs, 'app.log'), lines('after', 200));
    await until(() => `the agent to exit after its data dir was removed:\n${cli.stderr.slice(-2000)}`, () => cli.child.exitCode !== null, 15_000);
    assert.is(cli.child.exitCode, 1, cli.stderr.slice(-2000));
    assert.match(cli.stderr, /ERROR .*was deleted while in use/);
    receiver.respond = () => 200;
    cli = startCli(args);
    const after = (): number => new Set(receiver.bodies.filter((b) => b.startsWith('after'))).size;
    await until(() => `the 200 lines written after the removal delivered (have ${after()})`, () => after() === 200, 20_000);
  } finally {
    await cli.stop();
    await receiver.close();
    cleanup();
  }
});

// Node's recursive mkdir loops forever, ignoring SIGTERM, where mkdir(2) says ENOENT under a dir that exists.
test('a data dir that cannot be made (under /proc): the agent says so and exits 1 at once', async () => {
  const { dir, cleanup } = tempDir();
  const cli = startCli(['--watch', dir, '--data-dir', '/proc/flume-tail-test/state']);
  try {
    await until(() => `the agent to exit:\n${cli.stderr.slice(-2000)}`, () => cli.child.exitCode !== null, 10_000);
    assert.is(cli.child.exitCode, 1);
    assert.match(cli.stderr, /failed to start: .*\/proc\/flume-tail-test/);
  } finally {
    await cli.stop();
    cleanup();
  }
});

test.run();
