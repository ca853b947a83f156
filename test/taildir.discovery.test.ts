import { appendFileSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Logger } from '../src/core/log.ts';
import { Discovery } from '../src/sources/taildir/discovery.ts';
import { tempDir, until } from './helpers/poll.ts';

/** Discovery with what the agent writes kept out (`avoid`): listings, and the warning for a root inside it. */

function discovery(paths: string[], groups: { name: string; dir: string; regex: RegExp }[] = []): { d: Discovery; lines: string[] } {
  const lines: string[] = [];
  const d = new Discovery({ groups, paths, exclude: [], defaultExcludes: true }, new Logger({ write: (l) => lines.push(l) }, 'debug'));
  return { d, lines };
}

test('avoided dirs and files are not listed, however the root or the avoided path is spelled (symlinks)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const real = join(dir, 'real');
    mkdirSync(join(real, 'state', 'data'), { recursive: true });
    writeFileSync(join(real, 'app.log'), 'a\n');
    writeFileSync(join(real, 'state', 'data', 'log-0000000001.wal'), 'x\n');
    writeFileSync(join(real, 'state', 'positions.json'), '[]\n');
    symlinkSync(real, join(dir, 'link'));
    const names = (l: Map<string, string | null>): string[] => [...l.keys()].map((p) => p.slice(dir.length + 1)).sort();
    for (const [root, avoided] of [
      [real, join(real, 'state')],
      [join(dir, 'link'), join(real, 'state')],
      [real, join(dir, 'link', 'state')],
    ]) {
      const { d } = discovery([root]);
      assert.equal(names(await d.list()).length, 3, 'before avoid, everything is listed');
      d.avoid([join(avoided, 'data'), join(avoided, 'positions.json')]);
      const rootName = root.slice(dir.length + 1);
      assert.equal(names(await d.list()), [`${rootName}/app.log`], `root ${rootName}, avoiding ${avoided.slice(dir.length + 1)}`);
    }
  } finally {
    cleanup();
  }
});

test('a root that lies wholly inside what the agent writes is a warning (nothing under it is tailed)', () => {
  const { dir, cleanup } = tempDir();
  try {
    const data = join(dir, 'state', 'channel', 'data');
    mkdirSync(data, { recursive: true });
    const inside = discovery([], [{ name: 'g', dir: data, regex: /.*/ }]);
    inside.d.avoid([data]);
    assert.ok(inside.lines.some((l) => l.includes(`WARN`) && l.includes(`${data} is where the agent writes its own files`)), inside.lines.join('\n'));
    const around = discovery([join(dir, 'state')]);
    around.d.avoid([data]);
    assert.not.ok(around.lines.some((l) => l.includes('WARN')), 'a root that only holds them is tailed apart from them');
  } finally {
    cleanup();
  }
});

/** Waits until the watch has reported `e` (`kind path`, the path below the test's dir). */
function eventSeen(events: string[], e: string): Promise<unknown> {
  return until(() => `${e} (have ${events.join(', ')})`, () => events.includes(e));
}

/*
 * The watch: one fs.watch per directory a listing walked, no listing or stat
 * per event. chokidar, before, re-read a directory (readdir, lstat of every
 * entry) on every append to any file in it.
 */
test('watch: appends are changes, new, renamed and removed names are renames, in every directory walked', async () => {
  const { dir, cleanup } = tempDir();
  const events: string[] = [];
  const { d } = discovery([join(dir, 'logs')]);
  try {
    mkdirSync(join(dir, 'logs', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'logs', 'app.log'), '');
    writeFileSync(join(dir, 'logs', 'sub', 'deep.log'), '');
    await d.list();
    d.watch((kind, path) => events.push(`${kind} ${path.slice(dir.length + 1)}`));
    appendFileSync(join(dir, 'logs', 'app.log'), 'x\n');
    await eventSeen(events, 'change logs/app.log');
    appendFileSync(join(dir, 'logs', 'sub', 'deep.log'), 'x\n');
    await eventSeen(events, 'change logs/sub/deep.log');
    writeFileSync(join(dir, 'logs', 'new.log'), 'n\n');
    await eventSeen(events, 'rename logs/new.log');
    renameSync(join(dir, 'logs', 'app.log'), join(dir, 'logs', 'app.log.1'));
    await eventSeen(events, 'rename logs/app.log.1');
    // a directory made after the listing is watched once a listing has walked it
    mkdirSync(join(dir, 'logs', 'later'));
    await d.list();
    writeFileSync(join(dir, 'logs', 'later', 'x.log'), '');
    await eventSeen(events, 'rename logs/later/x.log');
    // a watched directory removed and made again before the next listing: the listing watches the new one
    rmSync(join(dir, 'logs', 'sub'), { recursive: true });
    mkdirSync(join(dir, 'logs', 'sub'));
    await eventSeen(events, 'rename logs/sub');
    await d.list();
    writeFileSync(join(dir, 'logs', 'sub', 'again.log'), '');
    await eventSeen(events, 'rename logs/sub/again.log');
  } finally {
    await d.close();
    cleanup();
  }
});

test('watch: single-file roots are watched through their directory, renames of their names only, even before it exists', async () => {
  const { dir, cleanup } = tempDir();
  const events: string[] = [];
  // two files in one directory, and one whose directory (and its parent) do not exist yet
  const { d } = discovery([join(dir, 'x.log'), join(dir, 'y.log'), join(dir, 'later', 'deep', 'z.log')]);
  try {
    writeFileSync(join(dir, 'x.log'), 'x\n');
    await d.list();
    d.watch((kind, path) => events.push(`${kind} ${path.slice(dir.length + 1)}`));
    writeFileSync(join(dir, 'other.log'), 'o\n');
    writeFileSync(join(dir, 'y.log'), 'y\n');
    await eventSeen(events, 'rename y.log');
    renameSync(join(dir, 'x.log'), join(dir, 'x.log.1'));
    await eventSeen(events, 'rename x.log');
    assert.not.ok(events.some((e) => e.startsWith('rename other.log')), events.join(', '));
    // the missing directory's nearest existing ancestor is watched for it, step by step as listings follow
    mkdirSync(join(dir, 'later'));
    await eventSeen(events, 'rename later');
    await d.list();
    mkdirSync(join(dir, 'later', 'deep'));
    await eventSeen(events, 'rename later/deep');
    await d.list();
    writeFileSync(join(dir, 'later', 'deep', 'z.log'), 'z\n');
    await eventSeen(events, 'rename later/deep/z.log');
  } finally {
    await d.close();
    cleanup();
  }
});

test.run();
