import { test } from 'uvu';
import { netcatSeedSmoke } from './helpers/netcat-smoke.ts';

test('the seed config runs verbatim on Node: OK per line, Flume logger output, FAILED for long lines, clean SIGTERM', async () => {
  await netcatSeedSmoke('node');
});

test.run();
