import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdirp, mkdirpSync, NotADirectoryError } from '../src/core/mkdirp.ts';
import { tempDir } from './helpers/poll.ts';

for (const [name, make] of [['mkdirpSync', async (d: string) => mkdirpSync(d)], ['mkdirp', mkdirp]] as const) {
  test(`${name}: makes every missing level, and a dir that exists is fine`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const deep = join(dir, 'a', 'b', 'c');
      await make(deep);
      assert.ok(statSync(deep).isDirectory());
      await make(deep);
      await make(dir);
    } finally {
      cleanup();
    }
  });

  test(`${name}: a file in the way is a NotADirectoryError naming it`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(join(dir, 'f'), '');
      for (const d of [join(dir, 'f'), join(dir, 'f', 'g')]) {
        try {
          await make(d);
          assert.unreachable(`made ${d}`);
        } catch (err) {
          assert.instance(err, NotADirectoryError);
          assert.is((err as NotADirectoryError).path, join(dir, 'f'));
        }
      }
    } finally {
      cleanup();
    }
  });

  // Node's { recursive: true } never returns here (20.20)
  test(`${name}: where mkdir(2) says ENOENT under a dir that exists (/proc), it throws ENOENT`, async () => {
    try {
      await make('/proc/flume-tail-test/x');
      assert.unreachable('made a dir under /proc');
    } catch (err) {
      assert.is((err as NodeJS.ErrnoException).code, 'ENOENT');
    }
  });
}

test.run();
