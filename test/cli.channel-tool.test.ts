import { openSync, readdirSync, readSync, writeSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FileChannel, FILE_CHANNEL_DEFAULTS } from '../src/channels/file/file-channel.ts';
import { eventOf } from '../src/core/event.ts';
import { Logger } from '../src/core/log.ts';
import { runCli } from './helpers/cli.ts';
import { tempDir } from './helpers/poll.ts';

/** A stopped file channel under `dir` holding three batches of ten events. */
async function channelWithBacklog(dir: string): Promise<void> {
  const ch = new FileChannel({ ...FILE_CHANNEL_DEFAULTS, minimumRequiredSpace: 0 }, { name: 'c1', log: new Logger({ write: () => {} }), stateDir: dir });
  await ch.start();
  for (let b = 0; b < 3; b++) await ch.put(Array.from({ length: 10 }, (_, i) => eventOf(`batch ${b} event ${i} `.padEnd(100, '.'))));
  await ch.stop();
}

test('channel inspect shows what is pending; channel verify passes a clean channel', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await channelWithBacklog(dir);
    const root = join(dir, 'channels', 'c1');
    const inspect = await runCli(['channel', 'inspect', root]);
    assert.is(inspect.code, 0, inspect.stderr);
    assert.match(inspect.stdout, /events pending: 30/);
    const verify = await runCli(['channel', 'verify', root]);
    assert.is(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /every CRC matches/);
  } finally {
    cleanup();
  }
});

test('channel verify reports a flipped byte with file and offset and exits 1; a non-channel dir exits 2', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await channelWithBacklog(dir);
    const data = join(dir, 'channels', 'c1', 'data');
    const seg = join(data, readdirSync(data).filter((f) => f.endsWith('.wal')).sort()[0]);
    // flip one byte inside the second batch's payload (past the 40-byte header and the first batch)
    const at = Math.floor(statSync(seg).size / 2);
    const fd = openSync(seg, 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] ^= 0xff;
    writeSync(fd, b, 0, 1, at);
    closeSync(fd);
    const verify = await runCli(['channel', 'verify', data]);
    assert.is(verify.code, 1, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /CORRUPT: 1 range/);
    assert.match(verify.stdout, new RegExp(`${seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} offset \\d+ length \\d+`));
    const notChannel = await runCli(['channel', 'verify', join(dir, 'nope')]);
    assert.is(notChannel.code, 2);
    assert.match(notChannel.stderr, /flume-tail channel verify: .*nope/);
  } finally {
    cleanup();
  }
});

test.run();
