import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Logger } from '../src/core/log.ts';
import { Discovery } from '../src/sources/taildir/discovery.ts';
import { tempDir } from './helpers/poll.ts';

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

test.run();
