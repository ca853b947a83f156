import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startCli, type Cli } from './helpers/cli.ts';
import { tempDir, until } from './helpers/poll.ts';
import { Receiver } from './helpers/receiver.ts';
import { compareLines, describeComparison, SeqWriter, SteadyWriter } from './helpers/seq-writer.ts';

/**
 * Rotation through the real CLI: `flume-tail --watch` on real files, a file
 * channel under --data-dir, the HTTP sink shipping ndjson to a real receiver.
 * Every line carries a unique sequence number, so the delivered multiset says
 * exactly what was lost or repeated.
 */

async function quick(watch: string, state: string, port: number): Promise<Cli> {
  const cli = startCli(['--watch', watch, '--from-beginning', '--data-dir', state, '--http', `http://127.0.0.1:${port}/ingest`]);
  await cli.waitFor('agent quick started', 'stderr');
  return cli;
}

/** SIGTERM and a clean exit: after it nothing more arrives, so the multiset is final. */
async function stop(cli: Cli): Promise<void> {
  assert.is(await cli.stop(), 0, `clean exit\n${cli.stderr.slice(-2000)}`);
}

test('rename rotation under steady writes (app.log → app.log.1 …, the app writes on into the old file, then reopens): every line exactly once', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const receiver = new Receiver();
  const port = await receiver.listen();
  const w = new SeqWriter(join(logs, 'app.log'), 'R');
  let cli: Cli | undefined;
  try {
    cli = await quick(logs, join(dir, 'state'), port);
    let rotations = 0;
    // 20 lines every 5 ms; every 25 ticks a rotation, with 7 late lines into the renamed file before the reopen
    const steady = new SteadyWriter(w, 20, 5, (tick) => {
      if (tick % 25 !== 0) return;
      w.rotate();
      w.write(7);
      w.reopen();
      rotations++;
    }).start();
    await until('6 rotations', () => rotations >= 6, 20_000);
    steady.stop();
    w.write(3); // the newest app.log gets lines too
    w.close();
    await until(() => `every line delivered: ${describeComparison(compareLines(w.written, receiver.bodies))}`,
      () => compareLines(w.written, receiver.bodies).missing.length === 0, 20_000, 50);
    await stop(cli);
    const c = compareLines(w.written, receiver.bodies);
    assert.equal([c.missing.length, c.duplicates.length, c.unexpected.length], [0, 0, 0], describeComparison(c));
    console.log(`  rename rotation: ${w.written.length} lines, ${rotations} rotations, delivered exactly once`);
  } finally {
    cli?.kill('SIGKILL');
    w.close();
    await receiver.close();
    cleanup();
  }
});

/**
 * copytruncate's guarantee, stated. Three copytruncates (copy to app.log.1, 5 lines into the original, truncate),
 * each followed at once by more lines than the file held, through the CLI tailing `watch`. Lines written between
 * the copy and the truncate are in neither file afterwards (logrotate itself loses them unless the tailer read
 * them in that window), so: every line written before the copy (once the tailer caught up) and every line after
 * the truncate is delivered exactly once, a line of the window at most once. The file regrows past the old offset
 * before the agent can look, so only the fingerprint of its first bytes can tell it was truncated. Whether the copy
 * is tailed too (`--watch DIR`) or left out (`DIR/*.log`), nothing is sent twice; with the copies in the paths,
 * `judged` says what the agent must log of them.
 */
async function copyTruncateScenario(watch: (logs: string) => string, seqPrefix: string, judged?: RegExp): Promise<void> {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const receiver = new Receiver();
  const port = await receiver.listen();
  const w = new SeqWriter(join(logs, 'app.log'), seqPrefix);
  let cli: Cli | undefined;
  try {
    cli = await quick(watch(logs), join(dir, 'state'), port);
    w.write(150);
    for (let round = 0; round < 3; round++) {
      const sofar = w.written.filter((l) => !w.betweenCopyAndTruncate.includes(l));
      await until(() => `caught up before copytruncate ${round}: ${describeComparison(compareLines(sofar, receiver.bodies))}`,
        () => compareLines(sofar, receiver.bodies).missing.length === 0, 15_000, 25);
      // the copy goes to app.log.1 each time, over the last one, as `cp` does
      w.copyTruncate(5);
      // regrow past the old size in the same tick: a size check alone cannot see the truncation
      w.write(200 + round * 50);
    }
    w.close();
    const deliverable = w.written.filter((l) => !w.betweenCopyAndTruncate.includes(l));
    await until(() => `every deliverable line: ${describeComparison(compareLines(deliverable, receiver.bodies))}`,
      () => compareLines(deliverable, receiver.bodies).missing.length === 0, 20_000, 50);
    if (judged) await until(`three copies judged (${judged})`, () => (cli!.stderr.match(new RegExp(judged, 'g')) ?? []).length === 3, 10_000);
    await stop(cli);
    const c = compareLines(w.written, receiver.bodies);
    assert.equal(c.missing.filter((l) => !w.betweenCopyAndTruncate.includes(l)), [], describeComparison(c));
    assert.equal([c.duplicates.length, c.unexpected.length], [0, 0], describeComparison(c));
    assert.ok(cli.stderr.includes('was truncated'), 'the agent logged the truncation');
    console.log(`  copytruncate${judged ? ', copies tailed too' : ''}: ${w.written.length} lines, 3 truncations, ${w.betweenCopyAndTruncate.length - c.missing.length}/${w.betweenCopyAndTruncate.length} copy–truncate window lines delivered, none twice`);
  } finally {
    cli?.kill('SIGKILL');
    w.close();
    await receiver.close();
    cleanup();
  }
}

test('copytruncate: lines before the copy and after the truncate exactly once, lines between at most once', async () => {
  await copyTruncateScenario((logs) => join(logs, '*.log'), 'C');
});

test('copytruncate with the copies in the paths (--watch DIR): no line twice, the copies are known by their bytes', async () => {
  await copyTruncateScenario((logs) => logs, 'K', /app\.log\.1 is a copy of/);
});

test.run();
