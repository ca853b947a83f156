/**
 * Runs the uvu suite and ends with one plain summary line, `N passed, N failed`,
 * that any CI log reader understands (uvu prints a Total/Passed block instead).
 * Usage: node --import tsx scripts/run-tests.ts [pattern]
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const pattern = process.argv[2] ?? '\\.test\\.tsx?$';
const uvu = join('node_modules', 'uvu', 'bin.js');
// Ink draws only its final frame when CI or CONTINUOUS_INTEGRATION is set (is-in-ci,
// read once at import). The dashboard tests assert the live frames a user's terminal
// shows, so the suite runs without them, in CI as on a desk.
const env = { ...process.env };
delete env.CI;
delete env.CONTINUOUS_INTEGRATION;
const child = spawn(process.execPath, [uvu, '-r', 'tsx', 'test', pattern], { stdio: ['ignore', 'pipe', 'inherit'], env });
let out = '';
child.stdout.on('data', (d: Buffer) => {
  process.stdout.write(d);
  out += d.toString();
});
child.on('exit', (code) => {
  // eslint-disable-next-line no-control-regex
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label: string) => Number(new RegExp(`(?:^|\\n)\\s*${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? 0);
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped');
  const failed = Math.max(0, total - passed - skipped) || (code === 0 ? 0 : 1);
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(code ?? 1);
});
