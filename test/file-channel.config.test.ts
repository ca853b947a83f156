import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { ComponentContext } from '../src/config/context.ts';
import { Problems } from '../src/config/problems.ts';
import { fileChannelSpec } from '../src/channels/file/spec.ts';
import { FileChannel } from '../src/channels/file/file-channel.ts';
import { Logger } from '../src/core/log.ts';
import { contextOf } from './helpers/context.ts';

function ctx(keys: Record<string, string>): { c: ComponentContext; problems: Problems } {
  const { ctx: c, problems } = contextOf('a1.channels.c1', keys);
  return { c, problems };
}

test('defaults follow Flume, with a 64 MiB segment size', () => {
  const { c, problems } = ctx({ type: 'file' });
  c.markUsed('type');
  const o = fileChannelSpec.parse(c);
  assert.equal(o, {
    capacity: 1_000_000, transactionCapacity: 10_000, checkpointIntervalMs: 30_000, maxFileSize: 64 * 1024 * 1024,
    minimumRequiredSpace: 524_288_000, keepAliveMs: 3000, checkpointOnClose: true,
  });
  assert.is(problems.list.length, 0);
  assert.is(fileChannelSpec.type, 'file');
});

test('Flume keys are read; dataDirs takes commas and spaces; ignored Flume keys warn with the reason', () => {
  const { c, problems } = ctx({
    checkpointDir: '/var/ft/ck', dataDirs: '/d1, /d2 /d3', capacity: '5000', transactionCapacity: '500', checkpointInterval: '10000',
    maxFileSize: '1048576', minimumRequiredSpace: '0', 'keep-alive': '7', checkpointOnClose: 'false',
    useDualCheckpoints: 'true', backupCheckpointDir: '/b', 'use-fast-replay': 'true', fsyncPerTransaction: 'false', fsyncInterval: '5',
  });
  const o = fileChannelSpec.parse(c);
  c.reportUnknown(fileChannelSpec.keys);
  assert.equal(o, {
    checkpointDir: '/var/ft/ck', dataDirs: ['/d1', '/d2', '/d3'], capacity: 5000, transactionCapacity: 500, checkpointIntervalMs: 10_000,
    maxFileSize: 1048576, minimumRequiredSpace: 0, keepAliveMs: 7000, checkpointOnClose: false,
  });
  assert.is(problems.errors.length, 0);
  const warned = problems.warnings.map((w) => w.key);
  assert.equal(warned.sort(), ['a1.channels.c1.backupCheckpointDir', 'a1.channels.c1.fsyncInterval', 'a1.channels.c1.fsyncPerTransaction', 'a1.channels.c1.use-fast-replay', 'a1.channels.c1.useDualCheckpoints']);
  assert.ok(problems.warnings.every((w) => w.expected.includes('ignored')));
});

test('bad values are config errors naming key and line', () => {
  const { c, problems } = ctx({ capacity: '10', transactionCapacity: '100', checkpointInterval: '5', 'keep-alive': 'x' });
  fileChannelSpec.parse(c);
  const keys = problems.errors.map((e) => e.key).sort();
  assert.equal(keys, ['a1.channels.c1.checkpointInterval', 'a1.channels.c1.keep-alive', 'a1.channels.c1.transactionCapacity']);
});

test('create puts dirs under <stateDir>/channels/<name> when not given', () => {
  const { c } = ctx({});
  const ch = fileChannelSpec.create(fileChannelSpec.parse(c), { name: 'c9', log: new Logger({ write: () => undefined }), stateDir: '/state' }) as FileChannel;
  assert.is(ch.checkpointDir, join('/state', 'channels', 'c9', 'checkpoint'));
  assert.equal(ch.dataDirs, [join('/state', 'channels', 'c9', 'data')]);
});

test.run();
