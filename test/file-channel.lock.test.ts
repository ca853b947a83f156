import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { acquireLock, ChannelLockedError, LOCK_FILE, processStart } from '../src/channels/file/lock.ts';
import { tempDir, until } from './helpers/poll.ts';

/*
 * Whose lock is stale. Written by hand as the holders the agent meets: an
 * earlier run of a container's pid 1 (the same pid as now), a pid given to
 * another process since, a host rebooted since, another host's agent.
 */

const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

function withLock(holder: Record<string, unknown>, body: (dir: string, path: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const { dir, cleanup } = tempDir();
    const path = join(dir, LOCK_FILE);
    writeFileSync(path, JSON.stringify(holder));
    try {
      await body(dir, path);
    } finally {
      cleanup();
    }
  };
}

function takesOver(dir: string, reason: RegExp): void {
  const said: string[] = [];
  const release = acquireLock('c1', dir, (m) => said.push(m));
  assert.match(said.join('\n'), /taking over a stale lock/);
  assert.match(said.join('\n'), reason);
  const now = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number; start: number };
  assert.is(now.pid, process.pid);
  assert.is(now.start, processStart(process.pid));
  release();
  assert.not.ok(existsSync(join(dir, LOCK_FILE)), 'released');
}

function refused(dir: string, pid: number, text: RegExp): void {
  try {
    acquireLock('c1', dir);
    assert.unreachable('took a lock whose holder runs');
  } catch (err) {
    assert.instance(err, ChannelLockedError);
    assert.is((err as ChannelLockedError).pid, pid);
    assert.match((err as Error).message, text);
  }
}

test('this process\'s own pid, written by an earlier run (a container\'s pid 1 restarted): taken over', withLock(
  { pid: process.pid, host: hostname(), boot, start: (processStart(process.pid) ?? 0) - 100 },
  (dir) => takesOver(dir, /has since been given to another process/),
));

test('this process\'s own pid in a lock without a start time (an older version\'s): taken over', withLock(
  { pid: process.pid, host: hostname() },
  (dir) => takesOver(dir, /left by an earlier run/),
));

test('a running process\'s pid with its own start time is refused; with another start time, taken over', async () => {
  const child = spawn('sleep', ['30']);
  try {
    const pid = child.pid!;
    const start = await until('the child\'s start time', () => processStart(pid));
    await withLock({ pid, host: hostname(), boot, start }, (dir) => refused(dir, pid, new RegExp(`in use by another flume-tail \\(pid ${pid}\\); stop that agent`)))();
    await withLock({ pid, host: hostname(), boot, start: start + 1 }, (dir) => takesOver(dir, /given to another process/))();
  } finally {
    child.kill('SIGKILL');
  }
});

test('a lock from before this host\'s last boot: taken over', withLock(
  { pid: 1, host: hostname(), boot: '00000000-0000-0000-0000-000000000000', start: 1 },
  (dir) => takesOver(dir, /before this host's last boot/),
));

test('another host\'s lock: refused while renewed, taken over once not renewed for the lease', withLock(
  { pid: 4242, host: 'elsewhere' },
  (dir, path) => {
    refused(dir, 4242, /on elsewhere\).*renewed 0 s ago.*not been renewed for 30 s/);
    const old = new Date(Date.now() - 31_000);
    utimesSync(path, old, old);
    takesOver(dir, /of pid 4242 on elsewhere, not renewed for 31 s/);
  },
));

test('a held lock is renewed every third of the lease', async () => {
  const { dir, cleanup } = tempDir();
  const release = acquireLock('c1', dir, undefined, 600);
  try {
    const path = join(dir, LOCK_FILE);
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    await until('the lock renewed', () => Date.now() - statSync(path).mtimeMs < 5_000, 3_000);
  } finally {
    release();
    cleanup();
  }
});

test('an empty lock file made just now is an agent starting: refused; one left empty for long is stale', withLock(
  {},
  (dir, path) => {
    writeFileSync(path, '');
    try {
      acquireLock('c1', dir);
      assert.unreachable('took a lock being written');
    } catch (err) {
      assert.match((err as Error).message, /being locked by another flume-tail starting just now/);
    }
    const old = new Date(Date.now() - 10_000);
    utimesSync(path, old, old);
    takesOver(dir, /\(unreadable\)/);
  },
));

test.run();
