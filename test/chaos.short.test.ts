import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runChaos } from '../scripts/lib/chaos-run.ts';

/**
 * The short chaos run (npm run chaos -- --short) inside the suite: the real
 * CLI kill -9'ed 3 times while files rotate (rename and copytruncate) and the
 * receiver fails at random, then bad inputs (among them a file the agent
 * may not read) and a "full" disk. Every line written must reach the
 * receiver.
 */
test('chaos (short): 3 kills, rotation, receiver faults, bad inputs, disk full — 0 missing', async () => {
  const r = await runChaos({ runtime: 'node', kills: 3, rate: 1000, files: 3, badInputs: true, diskFull: true, log: () => undefined });
  console.log(`  chaos: ${r.lines} lines, ${r.missing} missing, ${r.duplicates} duplicates, ${r.kills} kills (${r.seconds.toFixed(1)} s)`);
  assert.is(r.missing, 0, `missing seqs: ${r.missingSample.join(', ')}`);
  assert.is(r.kills, 3);
  assert.ok(r.diskFull, 'the disk-full phase ran');
  assert.ok(r.diskFull!.channelWriteFail > 0, 'puts failed while the disk was "full"');
  assert.is(r.diskFull!.deliveredWhileFull, 0, 'nothing got through while the disk was "full"');
  assert.ok(r.diskFull!.agentAlive, 'the agent kept running while the disk was "full"');
  assert.ok(!r.notes.some((n) => n.includes('crashed')), r.notes.join('\n'));
  // as root this needs setpriv (util-linux) to start the agent without root's read-anything capabilities
  assert.ok(r.permission?.denied, `a file of mode 000 was not denied to the agent: ${r.notes.join('; ')}`);
  assert.ok(r.permission!.readFails >= 1, 'the refusal was counted (EventReadFail rose once the file was in the paths)');
  assert.ok(r.permission!.deliveredAfter, 'once readable, every line of it arrived');
});

test.run();
