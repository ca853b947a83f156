import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runtimeAvailable } from './helpers/cli.ts';
import { netcatSeedSmoke } from './helpers/netcat-smoke.ts';
import { watchSmoke } from './helpers/watch-smoke.ts';

// bun and deno come from devDependencies; the binary from `npm run build`, which `npm test` runs first.
for (const runtime of ['bun', 'deno', 'binary'] as const) {
  test(`the seed config runs verbatim under ${runtime}`, async () => {
    assert.ok(runtimeAvailable(runtime), `${runtime} is not installed/built (npm ci; npm run build)`);
    await netcatSeedSmoke(runtime);
  });
}

for (const runtime of ['node', 'bun', 'deno', 'binary'] as const) {
  test(`--watch prints existing and appended lines under ${runtime}`, async () => {
    assert.ok(runtimeAvailable(runtime), `${runtime} is not installed/built (npm ci; npm run build)`);
    await watchSmoke(runtime);
  });
}

test.run();
