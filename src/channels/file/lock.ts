/**
 * One lock file per channel dir (`in_use.lock`, as Flume names it) holding the
 * owner's pid and host. A second agent on the same dirs is refused with the
 * holder's pid; a lock left by a dead process on this host is taken over.
 */
import { closeSync, fsyncSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FlumeError } from '../../core/errors.ts';

export const LOCK_FILE = 'in_use.lock';

export class ChannelLockedError extends FlumeError {
  constructor(readonly channel: string, readonly dir: string, readonly pid: number, readonly host: string) {
    super(
      'CHANNEL_LOCKED',
      `channel ${channel}: ${dir} is in use by another flume-tail (pid ${pid}${host !== hostname() ? ` on ${host}` : ''}); ` +
        `stop that agent or give this channel other checkpointDir/dataDirs`,
    );
  }
}

interface Holder {
  pid: number;
  host: string;
}

function readHolder(path: string): Holder | undefined {
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    if (typeof j.pid === 'number' && typeof j.host === 'string') return { pid: j.pid, host: j.host };
  } catch {
    // unreadable or half-written: treated as stale below
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `dir`; returns the release function. */
export function acquireLock(channel: string, dir: string, log?: (msg: string) => void): () => void {
  const path = join(dir, LOCK_FILE);
  const me: Holder = { pid: process.pid, host: hostname() };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const h = readHolder(path);
      if (h && (h.host !== me.host || alive(h.pid))) throw new ChannelLockedError(channel, dir, h.pid, h.host);
      log?.(`${path}: taking over a stale lock${h ? ` of pid ${h.pid}, which is not running` : ' (unreadable)'}`);
      try {
        unlinkSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify({ ...me, since: new Date().toISOString() }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const h = readHolder(path);
      if (h && h.pid === me.pid && h.host === me.host) unlinkSync(path);
    };
  }
  throw new FlumeError('CHANNEL_LOCKED', `channel ${channel}: could not take the lock ${path} (it keeps reappearing)`);
}
