#!/usr/bin/env -S node --max-semi-space-size=4
// The npm bin. It runs the CLI in this same process (no child: signals and
// kill -9 reach the agent itself).
//
// --max-semi-space-size=4 (MB): V8 lets the young generation grow to 16 MB per
// semi-space, and at full speed the agent's did, for ~22 MB of resident memory
// it does not need: what the agent allocates per line dies young, and at 4 MB
// the throughput measured the same (BENCHMARKS.md). A heap flag only counts at
// start, so it is here and in `npm start`, not set from inside.
//
// dist/js/cli.mjs is the sources compiled into one JS file (`npm run build:js`,
// which `npm ci` runs through `prepare`). Plain node loads it with no
// TypeScript loader: that saves tsx's loader thread (about 30 MB of memory)
// and the compile at every start. When a source file is newer than the bundle
// (an edit not built yet) or there is no bundle, the sources run through tsx,
// so what runs is never older than what is on disk.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = new URL('../dist/js/cli.mjs', import.meta.url);

function newestSource() {
  let newest = 0;
  for (const dir of ['src', 'tui']) {
    for (const entry of readdirSync(root + dir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) newest = Math.max(newest, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
    }
  }
  return newest;
}

function bundleIsFresh() {
  try {
    return statSync(bundle).mtimeMs >= newestSource();
  } catch {
    return false;
  }
}

if (bundleIsFresh()) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
