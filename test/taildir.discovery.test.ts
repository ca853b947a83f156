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
    const seen = (e: string) => () => `${e} (have ${events.join(', ')})`;
    appendFileSync(join(dir, 'logs', 'app.log'), 'x\n');
    await until(seen('change logs/app.log'), () => events.includes('change logs/app.log'));
    appendFileSync(join(dir, 'logs', 'sub', 'deep.log'), 'x\n');
    await until(seen('change logs/sub/deep.log'), () => events.includes('change logs/sub/deep.log'));
    writeFileSync(join(dir, 'logs', 'new.log'), 'n\n');
    await until(seen('rename logs/new.log'), () => events.includes('rename logs/new.log'));
    renameSync(join(dir, 'logs', 'app.log'), join(dir, 'logs', 'app.log.1'));
    await until(seen('rename logs/app.log.1'), () => events.includes('rename logs/app.log.1'));
    // a directory made after the listing is watched once a listing has walked it
    mkdirSync(join(dir, 'logs', 'later'));
    await d.list();
    writeFileSync(join(dir, 'logs', 'later', 'x.log'), '');
    await until(seen('rename logs/later/x.log'), () => events.includes('rename logs/later/x.log'));
    // a watched directory removed and made again before the next listing: the listing watches the new one
    rmSync(join(dir, 'logs', 'sub'), { recursive: true });
    mkdirSync(join(dir, 'logs', 'sub'));
    await until(seen('rename logs/sub'), () => events.includes('rename logs/sub'));
    await d.list();
    writeFileSync(join(dir, 'logs', 'sub', 'again.log'), '');
    await until(seen('rename logs/sub/again.log'), () => events.includes('rename logs/sub/again.log'));
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
    const seen = (e: string) => () => `${e} (have ${events.join(', ')})`;
    writeFileSync(join(dir, 'other.log'), 'o\n');
    writeFileSync(join(dir, 'y.log'), 'y\n');
    await until(seen('rename y.log'), () => events.includes('rename y.log'));
    renameSync(join(dir, 'x.log'), join(dir, 'x.log.1'));
    await until(seen('rename x.log'), () => events.includes('rename x.log'));
    assert.not.ok(events.some((e) => e.startsWith('rename other.log')), events.join(', '));
    // the missing directory's nearest existing ancestor is watched for it, step by step as listings follow
    mkdirSync(join(dir, 'later'));
    await until(seen('rename later'), () => events.includes('rename later'));
    await d.list();
    mkdirSync(join(dir, 'later', 'deep'));
    await until(seen('rename later/deep'), () => events.includes('rename later/deep'));
    await d.list();
    writeFileSync(join(dir, 'later', 'deep', 'z.log'), 'z\n');
    await until(seen('rename later/deep/z.log'), () => events.includes('rename later/deep/z.log'));
  } finally {
    await d.close();
    cleanup();
  }
});

test.run();
