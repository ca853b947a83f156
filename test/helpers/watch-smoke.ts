import { appendFileSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
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
    // directories (and empty files) that appear and vanish at once: watching one that is already gone must
    // not end the agent (under Deno an unhandled watcher error did)
    const churnUntil = Date.now() + 1500;
    for (let i = 0; Date.now() < churnUntil; i++) {
      const d = join(logs, `tmp${i % 3}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'empty.log'), '');
      rmSync(d, { recursive: true, force: true });
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 5));
    }
    appendFileSync(join(logs, 'app.log'), 'five\n');
    await cli.waitFor('five\n', 'stdout');
    assert.is(cli.stdout, 'one\ntwo\nthree\nfour\nfive\n');
    assert.not.match(cli.stderr, /WARN|ERROR/, 'files gone before they could be opened are not a warning');
    // the active segment's descriptor: O_DSYNC (every write durable when it returns), except under Deno,
    // whose node:fs writes block the event loop; there it is written plainly and fdatasync'ed (segment.ts)
    const flags = segmentFdFlags(cli.child.pid!, join(dir, 'state'));
    assert.ok(flags.length > 0, 'the agent holds its active segment open');
    for (const f of flags) assert.is((f & O_DSYNC) !== 0, runtime !== 'deno', `segment open flags 0${f.toString(8)} under ${runtime}`);
    cli.kill('SIGTERM');
    const { code } = await cli.exited;
    assert.is(code, 0, cli.stderr);
  } finally {
    cli.kill('SIGKILL');
    cleanup();
  }
}

/** Linux's O_DSYNC (octal 010000), as /proc/PID/fdinfo prints open flags. */
const O_DSYNC = 0o10000;

/** The open flags of each descriptor `pid` holds on a channel segment under `stateDir` (Linux /proc). */
function segmentFdFlags(pid: number, stateDir: string): number[] {
  const out: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (!target.startsWith(stateDir) || !/log-\d+\.wal$/.test(target)) continue;
    const m = /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    if (m) out.push(parseInt(m[1], 8));
  }
  return out;
}
