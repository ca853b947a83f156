import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { startCli, type Runtime } from './cli.ts';
import { tempDir } from './poll.ts';

/**
 * The main job as a newcomer runs it: `--watch DIR --from-beginning` prints
 * existing lines and then appended ones (file channel under --data-dir,
 * logger sink in text form), and stops cleanly on SIGTERM.
 */
export async function watchSmoke(runtime: Runtime): Promise<void> {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  writeFileSync(join(logs, 'app.log'), 'one\ntwo\nthree\n');
  const cli = startCli(['--watch', logs, '--from-beginning', '--data-dir', join(dir, 'state')], { runtime });
  try {
    await cli.waitFor('three\n', 'stdout', 60_000);
    appendFileSync(join(logs, 'app.log'), 'four\n');
    await cli.waitFor('four\n', 'stdout');
    assert.is(cli.stdout, 'one\ntwo\nthree\nfour\n');
    cli.kill('SIGTERM');
    const { code } = await cli.exited;
    assert.is(code, 0, cli.stderr);
  } finally {
    cli.kill('SIGKILL');
    cleanup();
  }
}
