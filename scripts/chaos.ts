/**
 * Chaos run (bounded, loopback only): kill -9 the agent 10+ times while files
 * rotate and the receiver fails at random, then bad inputs, then disk full —
 * and every line must arrive. See scripts/lib/chaos-run.ts for the phases.
 *
 *   npm run chaos -- [--runtime node|bun|binary|deno] [--kills 12] [--rate 2000] [--files 3] [--short]
 *
 * Prints `chaos: N lines, 0 missing, D duplicates, K kills` and exits 1 on any loss.
 */
import type { Runtime } from './lib/agent.ts';
import { runChaos } from './lib/chaos-run.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}

const short = process.argv.includes('--short');
const r = await runChaos({
  runtime: arg('runtime', 'node') as Runtime,
  kills: Number(arg('kills', short ? '3' : '12')),
  rate: Number(arg('rate', short ? '1000' : '2000')),
  files: Number(arg('files', '3')),
  badInputs: true,
  diskFull: true,
  log: (l) => console.log(l),
});
if (r.permission?.denied) console.log(`chaos: a file of mode 000: EventReadFail rose by ${r.permission.readFails} once it was in the paths, the agent ran on; readable again, every line of it arrived: ${r.permission.deliveredAfter}`);
for (const n of r.notes) console.log(`note: ${n}`);
console.log(`  rotations ${JSON.stringify(r.rotations)}; receiver ${JSON.stringify(r.receiver)}; duplicates from copytruncate copies ${r.copyDuplicates}; ${r.seconds.toFixed(1)} s`);
if (r.missing) console.log(`  first missing seqs: ${r.missingSample.join(', ')}`);
console.log(`chaos: ${r.lines} lines, ${r.missing} missing, ${r.duplicates} duplicates, ${r.kills} kills`);
process.exitCode = r.missing === 0 && !r.notes.some((n) => n.startsWith('disk full') || n.includes('crashed')) ? 0 : 1;
