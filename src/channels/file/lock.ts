/**
 * One lock file per channel dir (`in_use.lock`, as Flume names it) holding the
 * owner's pid, host, boot and process start time. A second agent on the same
 * dirs is refused with the holder's pid; a lock its holder left behind is
 * taken over.
 *
 * Flume holds an OS file lock, which the kernel drops when the process dies;
 * Node has none to offer, so whether the holder still runs is worked out:
 * - on this host, by its pid, and by the start time of the process with that
 *   pid, since pids are reused: an agent that is pid 1 in its container and
 *   was killed finds its own pid in the lock when the container restarts,
 *   and would otherwise refuse itself for ever;
 * - on this host but an earlier boot: stale;
 * - on another host (shared storage, or a container made anew, whose name
 *   changes), by a lease: the holder touches the file every LEASE_MS / 3, and
 *   a lock not touched for LEASE_MS is stale.
 */
import { closeSync, fsyncSync, openSync, readFileSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FlumeError } from '../../core/errors.ts';

export const LOCK_FILE = 'in_use.lock';
/** A lock of another host's agent that has not been renewed for this long is stale. */
export const LEASE_MS = 30_000;
/** A lock file younger than this that cannot be read yet is being written. */
const FRESH_MS = 2000;

export class ChannelLockedError extends FlumeError {
  constructor(readonly channel: string, readonly dir: string, readonly pid: number, readonly host: string, renewedAgoMs?: number, leaseMs = LEASE_MS) {
    super(
      'CHANNEL_LOCKED',
      `channel ${channel}: ${dir} is in use by another flume-tail (pid ${pid}${host !== hostname() ? ` on ${host}` : ''}); ` +
        (renewedAgoMs === undefined
          ? 'stop that agent or give this channel other checkpointDir/dataDirs'
          : `its lock was renewed ${Math.max(0, renewedAgoMs / 1000).toFixed(0)} s ago; if that host's agent is gone, the lock is taken over once ` +
            `it has not been renewed for ${leaseMs / 1000} s (start again then), or give this channel other checkpointDir/dataDirs`),
    );
  }
}

interface Holder {
  pid: number;
  host: string;
  /** /proc/sys/kernel/random/boot_id, where there is one */
  boot?: string;
  /** the process's start time, in clock ticks after boot (/proc/<pid>/stat), where there is one */
  start?: number;
}

function readHolder(path: string): Holder | undefined {
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    if (typeof j.pid === 'number' && typeof j.host === 'string') {
      return { pid: j.pid, host: j.host, boot: typeof j.boot === 'string' ? j.boot : undefined, start: typeof j.start === 'number' ? j.start : undefined };
    }
  } catch {
    // unreadable or half-written: treated as stale below
  }
  return undefined;
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** When the process `pid` started (field 22 of /proc/<pid>/stat), or undefined where that cannot be read. */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the command, which may itself hold spaces and parentheses
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why the lock at `path`, held by `h`, is stale; undefined if its holder may still run. */
function staleness(h: Holder, me: Holder, path: string, leaseMs: number): string | undefined {
  if (h.host !== me.host) {
    const age = Date.now() - statSync(path).mtimeMs;
    return age > leaseMs ? `of pid ${h.pid} on ${h.host}, not renewed for ${(age / 1000).toFixed(0)} s` : undefined;
  }
  if (h.boot && me.boot && h.boot !== me.boot) return `of pid ${h.pid}, from before this host's last boot`;
  if (!alive(h.pid)) return `of pid ${h.pid}, which is not running`;
  // this process writes its start time, so a lock with its pid and none is an earlier run's (an older version's)
  if (h.pid === me.pid && h.start === undefined && me.start !== undefined) return `of pid ${h.pid} (this process's), left by an earlier run`;
  if (h.start !== undefined) {
    const now = processStart(h.pid);
    if (now !== undefined && now !== h.start) return `of pid ${h.pid}, which has since been given to another process`;
  }
  return undefined;
}

/** Takes the lock of `dir`; returns the release function. While held, the lock is renewed (see LEASE_MS). */
export function acquireLock(channel: string, dir: string, log?: (msg: string) => void, leaseMs = LEASE_MS): () => void {
  const path = join(dir, LOCK_FILE);
  const me: Holder = { pid: process.pid, host: hostname(), boot: bootId(), start: processStart(process.pid) };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const h = readHolder(path);
      // made with 'wx' and written just after: one empty or half-written for a moment is an agent starting now
      if (!h && Date.now() - statSync(path).mtimeMs < FRESH_MS) {
        throw new FlumeError('CHANNEL_LOCKED', `channel ${channel}: ${dir} is being locked by another flume-tail starting just now (${path} is not written yet)`);
      }
      const why = h ? staleness(h, me, path, leaseMs) : '(unreadable)';
      if (h && why === undefined) {
        throw new ChannelLockedError(channel, dir, h.pid, h.host, h.host !== me.host ? Date.now() - statSync(path).mtimeMs : undefined, leaseMs);
      }
      log?.(`${path}: taking over a stale lock ${why}`);
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
    // the lease other hosts judge this lock by; a failed renewal (the dir removed, say) is retried at the next tick
    const renew = setInterval(() => {
      try {
        const t = new Date();
        utimesSync(path, t, t);
      } catch {
        // nothing to renew: the release below, or the channel's own errors, say what happened
      }
    }, leaseMs / 3);
    renew.unref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      clearInterval(renew);
      const h = readHolder(path);
      if (h && h.pid === me.pid && h.host === me.host) unlinkSync(path);
    };
  }
  throw new FlumeError('CHANNEL_LOCKED', `channel ${channel}: could not take the lock ${path} (it keeps reappearing)`);
}
