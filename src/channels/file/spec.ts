import type { ChannelSpec } from '../channel.ts';
import type { ComponentContext } from '../../config/context.ts';
import { FILE_CHANNEL_DEFAULTS as D, FileChannel, type FileChannelOptions } from './file-channel.ts';

/** Flume keys that have no meaning here, with the reason the user sees. */
const IGNORED: Record<string, string> = {
  useDualCheckpoints: 'nothing (ignored: a damaged checkpoint here falls back to a full replay of the segments, so no backup copy is needed)',
  backupCheckpointDir: 'nothing (ignored: a damaged checkpoint falls back to a full replay; there is no backup checkpoint)',
  compressBackupCheckpoint: 'nothing (ignored: there is no backup checkpoint)',
  'use-fast-replay': 'nothing (ignored: replay always keeps the backlog as log positions and is fast)',
  'use-log-replay-v1': 'nothing (ignored: Flume legacy replay)',
  fsyncPerTransaction: 'nothing (ignored: every commit is fsync\'ed, shared by concurrent commits through group commit)',
  fsyncInterval: 'nothing (ignored: every commit is fsync\'ed before put/commit returns)',
};

export const fileChannelSpec: ChannelSpec<FileChannelOptions> = {
  type: 'file',
  keys:
    'checkpointDir, dataDirs, capacity, transactionCapacity, checkpointInterval, maxFileSize, minimumRequiredSpace, keep-alive, checkpointOnClose ' +
    '(accepted and ignored: useDualCheckpoints, backupCheckpointDir, use-fast-replay, fsyncPerTransaction, fsyncInterval)',
  parse(ctx: ComponentContext): FileChannelOptions {
    const checkpointDir = ctx.optionalString('checkpointDir')?.trim();
    const dataEntry = ctx.optionalString('dataDirs');
    const dataDirs = dataEntry?.split(/[\s,]+/).filter(Boolean);
    if (dataEntry !== undefined && (!dataDirs || dataDirs.length === 0)) ctx.error('dataDirs', 'an empty list', 'one or more directories, comma- or space-separated');
    const capacity = ctx.int('capacity', D.capacity, { min: 1 });
    const transactionCapacity = ctx.int('transactionCapacity', D.transactionCapacity, { min: 1 });
    if (transactionCapacity > capacity) {
      ctx.error('transactionCapacity', String(transactionCapacity), `at most capacity (${capacity})`);
    }
    const opts: FileChannelOptions = {
      capacity,
      transactionCapacity: Math.min(transactionCapacity, capacity),
      checkpointIntervalMs: ctx.int('checkpointInterval', D.checkpointIntervalMs, { min: 1000 }),
      maxFileSize: ctx.int('maxFileSize', D.maxFileSize, { min: 4096, max: 2146435071 }),
      minimumRequiredSpace: ctx.int('minimumRequiredSpace', D.minimumRequiredSpace, { min: 0 }),
      keepAliveMs: ctx.int('keep-alive', D.keepAliveMs / 1000, { min: 0 }) * 1000,
      checkpointOnClose: ctx.bool('checkpointOnClose', D.checkpointOnClose),
      ...(checkpointDir ? { checkpointDir } : {}),
      ...(dataDirs && dataDirs.length ? { dataDirs } : {}),
    };
    for (const [key, why] of Object.entries(IGNORED)) {
      const e = ctx.entry(key);
      if (e) ctx.warning(key, `"${e.value}"`, why);
    }
    return opts;
  },
  create(opts, deps) {
    return new FileChannel(opts, deps);
  },
};
