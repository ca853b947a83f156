/**
 * `flume-tail channel inspect|verify DIR`: read-only views of a channel's dirs,
 * safe on a running agent (no lock taken, nothing truncated or deleted).
 * DIR is a channel root (holding checkpoint/ and data/) or a data dir.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FlumeError } from '../../core/errors.ts';
import { readCheckpoint } from './checkpoint.ts';
import { FRAME_HEADER_SIZE, FrameType, putCountOf } from './framing.ts';
import { LOCK_FILE } from './lock.ts';
import { leftByCrash, replayLog, sampledPutTime } from './replay.ts';
import { ScanBuffer, scanSegment } from './scan.ts';
import { listDeleting, listSegments, readSegmentHeader } from './segment.ts';

export interface ChannelDirs {
  checkpointDir?: string;
  dataDirs: string[];
}

export interface ChannelInspectReport {
  dir: string;
  checkpointDir?: string;
  dataDirs: string[];
  segments: { path: string; id: number; bytes: number; createdAt: number }[];
  totalBytes: number;
  /** Consumed segments still on disk while they are deleted (by the agent, or after a crash until its next start). */
  deleting: { path: string; bytes: number }[];
  eventsPending: number;
  /** Age of the oldest pending event (from put-time samples: never under the truth, less than 1 s over it), null when empty. */
  oldestEventAgeMs: number | null;
  checkpoint: { status: 'ok' | 'missing' | 'corrupt' | 'none'; reason?: string; ageMs?: number; eventsPending?: number };
  /** pid holding the lock, when a lock file is present. */
  lockedBy?: number;
  usedCheckpoint: boolean;
  corruptRegions: number;
  /** regions a crash left (replay.ts): skipped when read, not damage */
  crashLeftovers: number;
  /** bytes after the last complete record of the last segment (a write in progress, or a torn tail) */
  unsealedTailBytes: number;
}

export interface CorruptRange {
  file: string;
  offset: number;
  length: number;
  reason: string;
}

export interface ChannelVerifyReport {
  dir: string;
  segments: number;
  bytes: number;
  records: number;
  events: number;
  corrupt: CorruptRange[];
  /** Invalid bytes a crash left, not damage: holes of zeros, frames cut short at the end of a rolled segment (replay.ts). */
  crashLeftovers: CorruptRange[];
  /** Incomplete bytes at the end of the last segment: a write in progress or cut by a crash (truncated at the next start). */
  tornTail?: { file: string; offset: number; length: number };
  checkpoint: { status: 'ok' | 'missing' | 'corrupt' | 'none'; reason?: string };
}

/** Finds the checkpoint and data dirs from a channel root or a data dir. */
export function resolveChannelDirs(dir: string): ChannelDirs {
  if (existsSync(join(dir, 'data')) || existsSync(join(dir, 'checkpoint'))) {
    return { checkpointDir: join(dir, 'checkpoint'), dataDirs: [join(dir, 'data')] };
  }
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new FlumeError('CHANNEL_DIR', `${dir}: ${(err as Error).message}`);
  }
  if (names.some((n) => /^log-\d+\.wal$/.test(n))) {
    const sibling = join(dirname(dir), 'checkpoint');
    return { ...(existsSync(sibling) ? { checkpointDir: sibling } : {}), dataDirs: [dir] };
  }
  if (names.includes('checkpoint') && statSync(join(dir, 'checkpoint')).isFile()) return { checkpointDir: dir, dataDirs: [] };
  throw new FlumeError('CHANNEL_DIR', `${dir} is not a file channel dir: expected checkpoint/ and data/ inside, or log-*.wal segment files`);
}

function lockPid(dirs: ChannelDirs): number | undefined {
  for (const d of [dirs.checkpointDir, ...dirs.dataDirs]) {
    if (!d) continue;
    try {
      const j = JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')) as { pid?: number };
      if (typeof j.pid === 'number') return j.pid;
    } catch {
      // no lock
    }
  }
  return undefined;
}

/** Retries when a running agent deletes a segment under us (gone, or being cut down: SegmentShrankError). */
async function withRetry<T>(f: () => T): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return f();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'SEGMENT_SHRANK') || i >= 4) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** `.deleting` files and their sizes; one removed between the listing and its stat is left out. */
function deletingFiles(dataDirs: string[]): { path: string; bytes: number }[] {
  const out: { path: string; bytes: number }[] = [];
  for (const path of listDeleting(dataDirs)) {
    try {
      out.push({ path, bytes: statSync(path).size });
    } catch {
      // deleted meanwhile: nothing of it is on disk any more
    }
  }
  return out;
}

export async function inspectChannel(dir: string): Promise<ChannelInspectReport> {
  const dirs = resolveChannelDirs(dir);
  return withRetry(() => {
    const ck = dirs.checkpointDir ? readCheckpoint(dirs.checkpointDir) : undefined;
    let corruptRegions = 0;
    let unsealedTailBytes = 0;
    const r = replayLog({
      dataDirs: dirs.dataDirs,
      ...(ck?.status === 'ok' ? { checkpoint: ck.data } : {}),
      readOnly: true,
      onCorrupt: () => corruptRegions++,
      onTruncate: (_p, _o, len) => (unsealedTailBytes += len),
    });
    const head = r.ranges.length ? r.ranges[0].start : r.end;
    // as the running channel reads it: less than 1 s over the truth, never under (replay.ts, takesSample)
    const oldest = sampledPutTime(r.samples, head);
    const now = Date.now();
    const lockedBy = lockPid(dirs);
    return {
      dir,
      ...(dirs.checkpointDir ? { checkpointDir: dirs.checkpointDir } : {}),
      dataDirs: dirs.dataDirs,
      segments: r.segments.map((s) => ({ path: s.path, id: s.id, bytes: s.size, createdAt: s.createdAt })),
      totalBytes: r.segments.reduce((n, s) => n + s.size, 0),
      deleting: deletingFiles(dirs.dataDirs),
      eventsPending: r.size,
      oldestEventAgeMs: r.size > 0 && oldest !== undefined ? Math.max(0, now - oldest) : null,
      checkpoint: !ck
        ? { status: 'none' }
        : ck.status === 'ok'
          ? { status: 'ok', ageMs: Math.max(0, now - ck.data.writtenAt), eventsPending: ck.data.size }
          : ck.status === 'corrupt'
            ? { status: 'corrupt', reason: ck.reason }
            : { status: 'missing' },
      ...(lockedBy !== undefined ? { lockedBy } : {}),
      usedCheckpoint: r.usedCheckpoint,
      corruptRegions,
      crashLeftovers: r.crashLeftovers,
      unsealedTailBytes,
    };
  });
}

export async function verifyChannel(dir: string): Promise<ChannelVerifyReport> {
  const dirs = resolveChannelDirs(dir);
  return withRetry(() => {
    const segs = listSegments(dirs.dataDirs);
    const corrupt: CorruptRange[] = [];
    const crashLeftovers: CorruptRange[] = [];
    let records = 0;
    let events = 0;
    let bytes = 0;
    let tornTail: ChannelVerifyReport['tornTail'];
    const scanBuf = new ScanBuffer();
    segs.forEach((s, i) => {
      const isLast = i === segs.length - 1;
      bytes += s.size;
      const h = readSegmentHeader(s.path);
      if (!h.ok) corrupt.push({ file: s.path, offset: 0, length: Math.min(40, s.size), reason: `segment header: ${h.reason}` });
      const start = h.ok ? h.header.headerSize : 40;
      let sealEnd = start;
      const found: (CorruptRange & { crash: boolean })[] = [];
      const res = scanSegment(s.path, start, {
        frame(type, b, at, _len, _off, end) {
          records++;
          if (type === FrameType.Put) events += putCountOf(b, at - FRAME_HEADER_SIZE);
          sealEnd = end;
        },
        corrupt(offset, length, reason, unwritten) {
          found.push({ file: s.path, offset, length, reason, crash: unwritten });
        },
      }, undefined, scanBuf);
      const t = res.trailing;
      if (t) found.push({ file: s.path, offset: t.off, length: t.length, reason: t.reason, crash: leftByCrash(t) });
      for (const { crash, ...c } of found) {
        if (isLast && c.offset >= sealEnd) continue; // the torn tail, below
        (crash ? crashLeftovers : corrupt).push(c);
      }
      if (isLast && res.fileSize > sealEnd) tornTail = { file: s.path, offset: sealEnd, length: res.fileSize - sealEnd };
    });
    const ck = dirs.checkpointDir ? readCheckpoint(dirs.checkpointDir) : undefined;
    return {
      dir,
      segments: segs.length,
      bytes,
      records,
      events,
      corrupt,
      crashLeftovers,
      ...(tornTail ? { tornTail } : {}),
      checkpoint: !ck ? { status: 'none' } : ck.status === 'corrupt' ? { status: 'corrupt', reason: ck.reason } : { status: ck.status },
    };
  });
}

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1073741824) return `${(n / 1048576).toFixed(1)} MiB`;
  return `${(n / 1073741824).toFixed(2)} GiB`;
}

function age(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function formatInspect(r: ChannelInspectReport): string {
  const lines = [`channel dir: ${r.dir}`];
  if (r.checkpointDir) lines.push(`checkpoint dir: ${r.checkpointDir}`);
  lines.push(`data dirs: ${r.dataDirs.join(', ') || '(none)'}`);
  if (r.lockedBy !== undefined) lines.push(`in use by pid ${r.lockedBy} (read-only view; the tail may be moving)`);
  lines.push(`segments: ${r.segments.length}, ${size(r.totalBytes)} on disk`);
  for (const s of r.segments) lines.push(`  ${basename(s.path)}  ${size(s.bytes).padStart(10)}  created ${s.createdAt ? new Date(s.createdAt).toISOString() : '?'}`);
  if (r.deleting.length) {
    const bytes = r.deleting.reduce((n, d) => n + d.bytes, 0);
    lines.push(`being deleted: ${r.deleting.length} consumed segment(s), ${size(bytes)} (the agent cuts them down a step at a time; after a crash its next start removes them)`);
  }
  lines.push(`events pending: ${r.eventsPending}`);
  lines.push(`oldest pending event: ${r.oldestEventAgeMs === null ? '-' : `${age(r.oldestEventAgeMs)} old`}`);
  const c = r.checkpoint;
  lines.push(
    `checkpoint: ${c.status === 'ok' ? `${age(c.ageMs ?? 0)} old, ${c.eventsPending} events pending then` : c.status === 'corrupt' ? `corrupt (${c.reason}); the next start replays every segment` : c.status === 'missing' ? 'missing; the next start replays every segment' : 'no checkpoint dir given'}`,
  );
  if (r.corruptRegions) lines.push(`corrupt regions: ${r.corruptRegions} (run \`flume-tail channel verify\` for details)`);
  if (r.crashLeftovers) lines.push(`left by a crash: ${r.crashLeftovers} region(s) (writes a kill or power cut interrupted; see \`flume-tail channel verify\`)`);
  if (r.unsealedTailBytes) lines.push(`unsealed tail: ${size(r.unsealedTailBytes)} (a write in progress, or a torn write the next start truncates)`);
  return lines.join('\n');
}

export function formatVerify(r: ChannelVerifyReport): string {
  const lines = [`verified ${r.segments} segment(s), ${size(r.bytes)}: ${r.records} records, ${r.events} events`];
  if (r.corrupt.length === 0) lines.push('no corrupt records: every CRC matches');
  else {
    lines.push(`CORRUPT: ${r.corrupt.length} range(s) (skipped and counted when the channel reads them):`);
    for (const c of r.corrupt) lines.push(`  ${c.file} offset ${c.offset} length ${c.length}: ${c.reason}`);
  }
  if (r.crashLeftovers.length) {
    lines.push(`left by a crash: ${r.crashLeftovers.length} range(s) (they look like writes a kill or power cut interrupted, which were never acknowledged; skipped when read, not counted as corruption):`);
    for (const c of r.crashLeftovers) lines.push(`  ${c.file} offset ${c.offset} length ${c.length}: ${c.reason}`);
  }
  if (r.tornTail) lines.push(`unsealed tail: ${r.tornTail.file} offset ${r.tornTail.offset}, ${r.tornTail.length} bytes (a write in progress, or torn by a crash and truncated at the next start; not an error)`);
  const c = r.checkpoint;
  if (c.status === 'corrupt') lines.push(`checkpoint corrupt (${c.reason}): the next start replays every segment; no data is lost`);
  else if (c.status === 'missing') lines.push('checkpoint missing: the next start replays every segment');
  else if (c.status === 'ok') lines.push('checkpoint ok');
  return lines.join('\n');
}
