/**
 * Segment files: `log-<id>.wal` spread round-robin over the data dirs (id mod
 * number of dirs). Ids only grow, so the log order is the id order across
 * every dir, and a fully consumed segment is deleted as a whole.
 */
import { closeSync, constants, fsyncSync, openSync, readdirSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open as openAsync, rename as renameAsync, unlink as unlinkAsync, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { decodeSegmentHeader, encodeSegmentHeader, SEGMENT_HEADER_SIZE } from './framing.ts';

const NAME = /^log-(\d+)\.wal$/;

export function segmentName(id: number): string {
  return `log-${String(id).padStart(10, '0')}.wal`;
}

export interface SegmentFile {
  id: number;
  dir: string;
  path: string;
  /** Bytes in the file (for the active segment: bytes written so far). */
  size: number;
}

/** Every segment in `dirs`, sorted by id. A duplicate id (same id in two dirs) keeps the first and reports the other. */
export function listSegments(dirs: readonly string[], onDuplicate?: (path: string) => void): SegmentFile[] {
  const byId = new Map<number, SegmentFile>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const name of names) {
      const m = NAME.exec(name);
      if (!m) continue;
      const id = Number(m[1]);
      const path = join(dir, name);
      if (byId.has(id)) {
        onDuplicate?.(path);
        continue;
      }
      byId.set(id, { id, dir, path, size: statSync(path).size });
    }
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** The header of a segment file, or why it cannot be used. */
export function readSegmentHeader(path: string): ReturnType<typeof decodeSegmentHeader> {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(SEGMENT_HEADER_SIZE);
    const n = readSync(fd, b, 0, b.length, 0);
    return decodeSegmentHeader(b.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/** What a consumed segment is renamed to while it is being deleted (not a segment name: replay never reads it). */
const DELETING = /^log-\d+\.wal\.deleting$/;

/** Bytes freed per step when a consumed segment is deleted. */
export const DELETE_STEP = 4 << 20;

/**
 * Deletes a consumed segment without stalling the writer. Unlinking a 64 MiB
 * file frees all its blocks in one journal transaction, and durable appends
 * to the active segment waited on it: 15–18 ms here, the largest latency of a
 * live run (BENCHMARKS.md). Cut down `DELETE_STEP` at a time, no one wait
 * goes above ~4 ms. It is renamed first (and the rename synced), so that a
 * crash mid-way never leaves a shortened file under a segment's name;
 * `sweepDeleting` removes what such a crash leaves. If a step fails (a
 * segment the agent may not open for writing, say), it is unlinked whole.
 * `step` and `onStep` (called with the size after each cut) are for tests.
 */
export async function removeSegmentFile(path: string, step = DELETE_STEP, onStep?: (size: number) => void): Promise<void> {
  const doomed = `${path}.deleting`;
  await renameAsync(path, doomed);
  try {
    await fsyncDirAsync(dirname(path));
    await cutDown(doomed, step, onStep);
  } catch {
    // the steps only spread the freeing of its blocks; whatever stopped them, the file still goes
  }
  await unlinkAsync(doomed);
}

/** Truncates `path` to a multiple of `step` below its size, then a step at a time to `step` (the unlink frees the rest). */
async function cutDown(path: string, step: number, onStep?: (size: number) => void): Promise<void> {
  const h = await openAsync(path, 'r+');
  try {
    const { size } = await h.stat();
    for (let to = size - (size % step || step); to > 0; to -= step) {
      await h.truncate(to);
      onStep?.(to);
    }
  } finally {
    await h.close();
  }
}

/** Consumed segments being deleted (see removeSegmentFile): by the running agent, or left by a crash. */
export function listDeleting(dirs: readonly string[]): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) if (DELETING.test(name)) out.push(join(dir, name));
  }
  return out;
}

/** Removes segments left half deleted by a crash (see removeSegmentFile); returns their paths. */
export function sweepDeleting(dirs: readonly string[]): string[] {
  const gone: string[] = [];
  for (const path of listDeleting(dirs)) {
    try {
      unlinkSync(path);
      gone.push(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return gone;
}

/** `fsyncDir` off the event loop. */
export async function fsyncDirAsync(dir: string): Promise<void> {
  let h: FileHandle | undefined;
  try {
    h = await openAsync(dir, 'r');
    await h.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw err;
  } finally {
    await h?.close();
  }
}

/** fsync a directory so a created, renamed or deleted entry survives a crash (a no-op where dirs cannot be opened). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw err;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Creates segment `id` in `dir` with its header on disk (file and dir entry fsync'ed), open for appending. */
export function createSegment(dir: string, id: number, now = Date.now()): { fd: number; dsync: boolean; path: string } {
  const path = join(dir, segmentName(id));
  const fd = openSync(path, 'wx+');
  try {
    const h = encodeSegmentHeader(id, now);
    writeSync(fd, h, 0, h.length, 0);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(path);
    throw err;
  }
  closeSync(fd);
  fsyncDir(dir);
  return { ...openForAppend(path), path };
}

/**
 * Writes `bytes` into the file at `path` (`flags` as `open` takes them: 'wx+'
 * refuses a file that exists) and syncs it, off the event loop. On failure the
 * file is removed. The directory entry is the caller's to sync.
 */
export async function writeSynced(path: string, bytes: Uint8Array, flags: string): Promise<void> {
  const h = await openAsync(path, flags);
  try {
    // writeFile loops until every byte is written (a single write may be short)
    await h.writeFile(bytes);
    await h.sync();
  } catch (err) {
    await h.close();
    await unlinkAsync(path).catch(() => undefined);
    throw err;
  }
  await h.close();
}

/**
 * `createSegment` off the event loop, without opening it for appending: a
 * segment made ahead, so that rolling to it costs an open, not two syncs.
 */
export async function createSegmentAhead(dir: string, id: number, now = Date.now()): Promise<string> {
  const path = join(dir, segmentName(id));
  await writeSynced(path, encodeSegmentHeader(id, now), 'wx+');
  await fsyncDirAsync(dir);
  return path;
}

/**
 * Deno runs `node:fs` writes on the event loop: `fs.write` and `writev`
 * return once the write is done (a 400 KB write to an O_DSYNC file held the
 * loop 1.0–1.5 ms, against 0.1 ms on Node), while its `fdatasync` runs off
 * the loop. So there a segment is opened without O_DSYNC: a group commit's
 * write only copies into the page cache, and the wait for the disk is the
 * `fdatasync` after it. Deno's bench-tail run went from 1.64–1.90 s to
 * 1.09–1.25 s, and its p99 at 100k lines/s from 104–129 ms to 7–58 ms
 * (BENCHMARKS.md).
 */
export const WRITES_BLOCK_THE_LOOP = 'Deno' in globalThis;

/**
 * Opens a segment for writing. With O_DSYNC (where the platform has it) every
 * write returns only once its data is on disk, so a group commit is one
 * write call instead of a write then an fdatasync: one trip to the thread
 * pool. Not on Deno (WRITES_BLOCK_THE_LOOP).
 */
export function openForAppend(path: string): { fd: number; dsync: boolean } {
  const dsync = WRITES_BLOCK_THE_LOOP ? undefined : (constants as Record<string, number | undefined>).O_DSYNC;
  if (dsync !== undefined) {
    try {
      return { fd: openSync(path, constants.O_RDWR | dsync), dsync: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    }
  }
  return { fd: openSync(path, 'r+'), dsync: false };
}
