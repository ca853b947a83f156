/**
 * The file channel: a write-ahead log of segment files plus a checkpoint.
 *
 * The backlog is held as positions, not events: `pending` (spans handed back
 * by rollbacks or left by out-of-order commits, all before the tail), the
 * unread tail [tailPos, durableEnd), and the spans of open takes. Event bodies
 * are read from disk when taken (or from the writer's last few MiB in memory).
 * Puts and take commits go through one group-commit writer, so a put resolves
 * only after its Put frame is on disk and a take commit only after its Take
 * frame is.
 */
import { closeSync, statfsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { unlink } from 'node:fs/promises';
import type { Channel, ChannelDeps, Taken } from '../channel.ts';
import type { WritesFiles } from '../../core/lifecycle.ts';
import type { FlumeEvent } from '../../core/event.ts';
import type { LineBatch } from '../../core/line-batch.ts';
import { ChannelClosedError, ChannelFullError, FlumeError, TransactionTooLargeError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { Turns } from '../../core/turns.ts';
import { CHANNEL_COUNTERS, CounterGroup, takeAttempts } from '../../metrics/counters.ts';
import { readCheckpoint, writeCheckpoint, type CheckpointData, type Sample } from './checkpoint.ts';
import { decodeRuns, encodePutBatch, encodeTake, fmtPos, FORMAT_VERSION, offOf, pos, segOf, type EntryRun, type Range, SEGMENT_HEADER_SIZE } from './framing.ts';
import { GroupCommitLog, SegmentGoneError, type ActiveSegment } from './group-commit.ts';
import { acquireLock } from './lock.ts';
import { FramePool } from './frame-pool.ts';
import { encodePutLines } from './put-lines.ts';
import { LineMover } from './line-mover.ts';
import { LogReader, type ReadableSegment } from './reader.ts';
import { insertRange } from './ranges.ts';
import { replayLog, sampledPutTime, takesSample } from './replay.ts';
import { createSegment, createSegmentAhead, openForAppend, removeSegmentFile, sweepDeleting } from './segment.ts';
import { mkdirpSync } from '../../core/mkdirp.ts';

export interface FileChannelOptions {
  /** Explicit dirs; when absent they go under `<stateDir>/channels/<name>/`. */
  checkpointDir?: string;
  dataDirs?: string[];
  capacity: number;
  transactionCapacity: number;
  checkpointIntervalMs: number;
  maxFileSize: number;
  minimumRequiredSpace: number;
  keepAliveMs: number;
  checkpointOnClose: boolean;
}

export const FILE_CHANNEL_DEFAULTS = {
  capacity: 1_000_000,
  transactionCapacity: 10_000,
  checkpointIntervalMs: 30_000,
  maxFileSize: 64 * 1024 * 1024,
  minimumRequiredSpace: 524_288_000,
  keepAliveMs: 3_000,
  checkpointOnClose: true,
} as const;

/** Test and embedding hooks. */
export interface FileChannelHooks {
  /** Free bytes for `dir` (defaults to statfs). */
  freeBytes?(dir: string): number;
  /** Epoch ms (defaults to Date.now): the time a put is stamped with, and that OldestEventAgeMs measures from. */
  now?(): number;
}

export const FILE_CHANNEL_COUNTERS = [
  ...CHANNEL_COUNTERS,
  'Open', 'Unhealthy', 'EventPutErrorCount', 'EventTakeErrorCount', 'CheckpointWriteErrorCount',
  'CorruptRecordsSkipped', 'CrashLeftoversSkipped', 'ReplayProgressPercent', 'ReplayEventsPerSec',
] as const;

interface Segment extends ReadableSegment {
  dir: string;
}

interface OpenTake {
  ranges: Range[];
  count: number;
  firstPutTime: number;
}

type State = 'new' | 'replaying' | 'open' | 'closing' | 'closed' | 'failed';

/** A segment made ahead of the roll that will need it. */
interface Spare {
  id: number;
  dir: string;
  /** set once made */
  path: string;
  state: 'making' | 'ready' | 'failed' | 'abandoned';
  made: Promise<unknown>;
}

const DISK_CHECK_MS = 1000;
const DISK_CHECK_BYTES = 64 << 20;

/** Resolves everyone waiting at the next notify. */
class Signal {
  private list: (() => void)[] = [];
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.list = this.list.filter((f) => f !== done);
        resolve();
      }, ms);
      this.list.push(done);
    });
  }
  notify(): void {
    const l = this.list;
    this.list = [];
    for (const f of l) f();
  }
}

export class FileChannel implements Channel, WritesFiles {
  readonly name: string;
  readonly rawTakes = true;
  readonly counters: CounterGroup;
  readonly checkpointDir: string;
  readonly dataDirs: readonly string[];
  private readonly log: Logger;
  private readonly onFatal?: (err: Error) => void;

  private state: State = 'new';
  /** Why a failed channel refuses puts. */
  private failedWhy = 'it failed to start';
  private releases: (() => void)[] = [];
  private readonly segs = new Map<number, Segment>();
  private segIds: number[] = [];
  private writer?: GroupCommitLog;
  private reader?: LogReader;
  /** put frames, reused once the writer, the reader and every take let go of them */
  private readonly frames = new FramePool();
  /** makes the entries of source line batches (put-lines.ts) */
  private readonly mover = new LineMover();

  private pending: Range[] = [];
  private tailPos = 0;
  private durableEnd = 0;
  private readonly inflight = new Map<number, OpenTake>();
  private takeSeq = 0;
  private queued = 0;
  private reserved = 0;
  /** put-time samples, keyed by where the Put frame before theirs ends (replay.ts, takesSample) */
  private samples: Sample[] = [];
  /** where the last Put frame ends: the key of the next put's sample */
  private putEnd = 0;
  private takeLock: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  private readonly room = new Signal();
  /** puts wait for room in the order they came */
  private readonly admissions = new Turns();
  private readonly arrivals = new Signal();
  private timer?: ReturnType<typeof setInterval>;
  private checkpointing?: Promise<void>;
  private lastCheckpointAt = 0;
  private changedSinceCheckpoint = false;
  private lastDiskCheck = 0;
  private bytesSinceDiskCheck = 0;
  private lowDisk?: string;
  private replayInfo: Record<string, unknown> = {};
  /** consumed segments being removed, in order */
  private deletions: Promise<void> = Promise.resolve();
  /** the next segment, being made ahead (see prepareSpare) */
  private spare?: Spare;

  constructor(
    readonly opts: FileChannelOptions,
    deps: ChannelDeps,
    private readonly hooks: FileChannelHooks = {},
  ) {
    this.name = deps.name;
    this.log = deps.log;
    this.onFatal = deps.onFatal;
    this.now = hooks.now ? () => hooks.now!() : Date.now;
    const root = join(deps.stateDir, 'channels', deps.name);
    this.checkpointDir = opts.checkpointDir ?? join(root, 'checkpoint');
    this.dataDirs = opts.dataDirs && opts.dataDirs.length ? opts.dataDirs : [join(root, 'data')];
    const c = (this.counters = new CounterGroup('CHANNEL', deps.name, 'file', FILE_CHANNEL_COUNTERS));
    c.gauge('ChannelSize', () => this.size);
    c.gauge('ChannelCapacity', () => this.capacity);
    c.gauge('ChannelFillPercentage', () => (this.size / this.capacity) * 100);
    c.gauge('ChannelBytesOnDisk', () => this.bytesOnDisk());
    c.gauge('OldestEventAgeMs', () => this.oldestEventAgeMs());
    c.gauge('FsyncLatencyP50Us', () => this.writer?.stats.percentile(50) ?? 0);
    c.gauge('FsyncLatencyP99Us', () => this.writer?.stats.percentile(99) ?? 0);
    c.gauge('CommitsPerFsync', () => this.writer?.stats.commitsPerFsync() ?? 0);
    c.gauge('CheckpointAgeMs', () => (this.lastCheckpointAt ? Date.now() - this.lastCheckpointAt : 0));
    c.details = () => ({
      checkpointDir: this.checkpointDir,
      dataDirs: this.dataDirs,
      segments: this.segIds.length,
      activeSegment: this.writer?.segment.path,
      openTakes: this.inflight.size,
      pendingSpans: this.pending.length,
      lowDisk: this.lowDisk ?? null,
      replay: this.replayInfo,
    });
  }

  writesUnder(): readonly string[] {
    return [this.checkpointDir, ...this.dataDirs].map((d) => resolve(d));
  }

  get size(): number {
    return this.queued;
  }
  get capacity(): number {
    return this.opts.capacity;
  }
  get transactionCapacity(): number {
    return this.opts.transactionCapacity;
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    if (this.state !== 'new') throw new ChannelClosedError(this.name, `start() called in state ${this.state}`);
    this.state = 'replaying';
    this.counters.startTime = Date.now();
    try {
      // one lock per distinct dir (checkpointDir may also be a data dir)
      for (const d of new Set([this.checkpointDir, ...this.dataDirs].map((x) => resolve(x)))) {
        mkdirpSync(d);
        this.releases.push(acquireLock(this.name, d, (m) => this.log.warn(m)));
      }
      for (const p of sweepDeleting(this.dataDirs)) this.log.info(`removed ${p}, a consumed segment whose deletion a crash cut short`);
      this.replay();
    } catch (err) {
      this.state = 'failed';
      this.counters.set('Unhealthy', 1);
      this.releaseLocks();
      throw err;
    }
    this.state = 'open';
    this.counters.set('Open', 1);
    if (this.replayInfo.bytesScanned) await this.checkpoint();
    this.timer = setInterval(() => void this.checkpoint(), Math.max(1000, this.opts.checkpointIntervalMs));
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.state !== 'open') {
      this.releaseLocks();
      if (this.state !== 'failed') this.state = 'closed';
      return;
    }
    this.state = 'closing';
    this.room.notify();
    this.arrivals.notify();
    if (this.timer) clearInterval(this.timer);
    await this.writer?.drain();
    await this.checkpointing;
    if (this.spare) {
      // never written: remove it (a crash instead leaves it, an empty segment that the next start writes into);
      // it stays known until it is gone, so that a take committed meanwhile rolls past its id (rollTo)
      const spare = this.spare;
      spare.state = 'abandoned';
      await spare.made;
      if (spare.path) await unlink(spare.path).catch(() => undefined);
      if (this.spare === spare) this.spare = undefined;
    }
    if (this.opts.checkpointOnClose) await this.checkpoint(true);
    // every deletion queued so far, and any a take committed while stopping queued: none outlives the locks
    for (let d = this.deletions; ; d = this.deletions) {
      await d;
      if (d === this.deletions) break;
    }
    if (this.writer) closeSync(this.writer.segment.fd);
    this.reader?.close();
    this.releaseLocks();
    this.state = 'closed';
    this.counters.set('Open', 0);
    this.counters.stopTime = Date.now();
  }

  private releaseLocks(): void {
    for (const r of this.releases.splice(0)) {
      try {
        r();
      } catch (err) {
        this.log.warn(`could not remove a lock file: ${(err as Error).message}`);
      }
    }
  }

  private replay(): void {
    const ck = readCheckpoint(this.checkpointDir);
    if (ck.status === 'corrupt') this.log.warn(`checkpoint in ${this.checkpointDir} is unusable (${ck.reason}); replaying every segment`);
    const t0 = Date.now();
    this.replayInfo = { state: 'running', percent: 0 };
    const r = replayLog({
      dataDirs: this.dataDirs,
      ...(ck.status === 'ok' ? { checkpoint: ck.data } : {}),
      readOnly: false,
      onProgress: (p) => {
        const secs = (Date.now() - t0) / 1000;
        const pct = p.bytesTotal ? Math.floor((p.bytesDone / p.bytesTotal) * 100) : 100;
        const eps = secs > 0 ? Math.round(p.events / secs) : 0;
        this.counters.set('ReplayProgressPercent', pct);
        this.counters.set('ReplayEventsPerSec', eps);
        this.replayInfo = { state: 'running', percent: pct, eventsPerSec: eps, events: p.events };
        if (pct < 100) this.log.info(`replay ${pct}% (${mb(p.bytesDone)} of ${mb(p.bytesTotal)}), ${p.events} events, ${eps} events/s`);
      },
      onCorrupt: (path, off, len, reason) => this.corrupt(path, off, len, reason),
      onCrashLeftover: (path, off, len, reason) => {
        this.counters.inc('CrashLeftoversSkipped');
        this.log.rateLimited('warn', `file-channel-crash:${this.name}`,
          `${path}: skipped ${len} bytes at offset ${off} that look like a write a crash cut short (${reason}); such a write ` +
            'was never acknowledged, so nothing committed is lost if the disk honours fsync. If the agent was not killed and ' +
            'the machine did not lose power, treat this as damage');
      },
      onTruncate: (path, off, len) => this.log.warn(`${path}: truncated a torn tail of ${len} bytes at offset ${off} (a write cut short by a crash; it was never acknowledged)`),
      onNote: (m) => this.log.warn(m),
    });
    const ms = Date.now() - t0;
    if (r.fullReplayReason) this.log.warn(`${r.fullReplayReason}; replayed every segment`);
    this.lastCheckpointAt = ck.status === 'ok' && r.usedCheckpoint ? ck.data.writtenAt : 0;

    for (const s of r.segments) this.addSegment({ id: s.id, dir: s.dir, path: s.path, size: s.size, dataStart: s.headerSize });
    const last = r.segments[r.segments.length - 1];
    let active: ActiveSegment;
    // appended to only if written in this format: a segment's header names one version for all its records
    // (after an upgrade, an older build must not find newer records under its own version)
    if (last && last.size < this.opts.maxFileSize && last.createdAt > 0 && last.version === FORMAT_VERSION) {
      active = { id: last.id, dir: last.dir, path: last.path, ...openForAppend(last.path), size: last.size, dataStart: last.headerSize };
      this.segs.set(last.id, active);
    } else {
      active = this.newSegment((last?.id ?? 0) + 1);
    }
    this.pending = r.ranges;
    this.durableEnd = last && active.id === last.id ? r.end : pos(active.id, active.size);
    const tail = this.pending[this.pending.length - 1];
    if (tail && tail.end === r.end) {
      this.pending.pop();
      this.tailPos = tail.start;
    } else {
      this.tailPos = this.durableEnd;
    }
    this.queued = r.size;
    this.samples = r.samples;
    this.putEnd = r.putEnd;
    this.writer = new GroupCommitLog(active, this.opts.maxFileSize, {
      roll: () => this.rollTo(this.writer!.segment.id + 1),
      forget: (buf) => this.frames.release(buf),
    });
    this.reader = new LogReader(
      { get: (id) => this.segs.get(id), after: (id) => this.segAfter(id), durableEnd: () => this.durableEnd, recent: (seg, off) => this.writer?.recentRecord(seg, off) },
      (path, off, len, reason) => {
        this.corrupt(path, off, len, reason);
        this.counters.inc('EventTakeErrorCount');
      },
      this.frames,
    );
    if (this.isEmptyByPosition()) this.queued = 0;
    this.deleteConsumedSegments();
    const eps = ms > 0 ? Math.round((r.eventsReplayed / ms) * 1000) : r.eventsReplayed;
    this.counters.set('ReplayProgressPercent', 100);
    this.counters.set('ReplayEventsPerSec', eps);
    this.replayInfo = {
      state: 'done', percent: 100, ms, eventsPerSec: eps, events: r.eventsReplayed, bytesScanned: r.bytesScanned,
      usedCheckpoint: r.usedCheckpoint, corruptRegions: r.corruptRegions, crashLeftovers: r.crashLeftovers, truncatedBytes: r.truncatedBytes,
    };
    this.log.info(
      `replayed ${mb(r.bytesScanned)} in ${ms} ms (${eps} events/s, ${r.usedCheckpoint ? 'from the checkpoint' : 'full replay'}): ` +
        `${this.queued} events pending in ${this.segIds.length} segment(s)` +
        (r.corruptRegions ? `, ${r.corruptRegions} corrupt region(s) skipped` : ''),
    );
  }

  private corrupt(path: string, off: number, len: number, reason: string): void {
    this.counters.inc('CorruptRecordsSkipped');
    this.log.rateLimited('warn', `file-channel-corrupt:${this.name}`, `${path}: skipped ${len} corrupt bytes at offset ${off} (${reason}); the channel goes on`);
  }

  // ---------------------------------------------------------------- segments

  private addSegment(s: Segment): void {
    this.segs.set(s.id, s);
    this.segIds.push(s.id);
    this.segIds.sort((a, b) => a - b);
  }

  private segAfter(id: number): Segment | undefined {
    for (const k of this.segIds) if (k > id) return this.segs.get(k);
    return undefined;
  }

  /**
   * Makes the next segment in the background once the active one is half
   * full: creating one syncs the file and its directory, which on the event
   * loop stalled every put for tens of milliseconds at each roll.
   */
  private prepareSpare(): void {
    const w = this.writer;
    if (!w || this.spare || this.state !== 'open' || w.segment.size < this.opts.maxFileSize / 2) return;
    const id = w.segment.id + 1;
    const dir = this.dataDirs[id % this.dataDirs.length];
    const spare: Spare = { id, dir, path: '', state: 'making', made: Promise.resolve() };
    spare.made = createSegmentAhead(dir, id).then(
      (path) => {
        spare.path = path;
        if (spare.state === 'abandoned') return unlink(path).catch(() => undefined);
        spare.state = 'ready';
      },
      (err: Error) => {
        spare.state = 'failed';
        this.log.debug(`could not make segment ${id} ahead (it is made at the roll instead): ${err.message}`);
      },
    );
    this.spare = spare;
  }

  /** The segment to roll to: the one made ahead when it is ready, else made now. */
  private rollTo(id: number): ActiveSegment {
    const spare = this.spare;
    this.spare = undefined;
    if (spare?.state === 'ready' && spare.id === id) {
      const s: ActiveSegment = { id, dir: spare.dir, path: spare.path, ...openForAppend(spare.path), size: SEGMENT_HEADER_SIZE, dataStart: SEGMENT_HEADER_SIZE };
      this.addSegment(s);
      return s;
    }
    if (spare?.state === 'making') {
      // still being made (a burst filled half a segment faster than two syncs): its id is taken, so
      // roll past it; it is deleted once made
      spare.state = 'abandoned';
      return this.newSegment(id + 1);
    }
    // being removed by stop(), and a take committed while stopping fills the segment: its id is taken too
    if (spare?.state === 'abandoned' && spare.id === id) return this.newSegment(id + 1);
    return this.newSegment(id);
  }

  private newSegment(id: number): ActiveSegment {
    const dir = this.dataDirs[id % this.dataDirs.length];
    const { fd, dsync, path } = createSegment(dir, id);
    const s: ActiveSegment = { id, dir, path, fd, dsync, size: 40, dataStart: 40 };
    this.addSegment(s);
    return s;
  }

  private bytesOnDisk(): number {
    let n = 0;
    for (const s of this.segs.values()) n += s.size;
    return n;
  }

  /** The earliest log position still needed: the head of the backlog or of an open take. */
  private minLivePos(): number {
    let m = this.tailPos;
    if (this.pending.length && this.pending[0].start < m) m = this.pending[0].start;
    for (const t of this.inflight.values()) if (t.ranges.length && t.ranges[0].start < m) m = t.ranges[0].start;
    return m;
  }

  private async removeSegments(paths: string[]): Promise<void> {
    for (const path of paths) {
      try {
        await removeSegmentFile(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn(`could not delete consumed segment ${path}: ${(err as Error).message}`);
      }
    }
  }

  private deleteConsumedSegments(): void {
    const keepFrom = segOf(this.minLivePos());
    const active = this.writer?.segment.id;
    const paths: string[] = [];
    while (this.segIds.length && this.segIds[0] < keepFrom && this.segIds[0] !== active) {
      const id = this.segIds.shift()!;
      paths.push(this.segs.get(id)!.path);
      this.segs.delete(id);
      this.reader?.forget(id);
    }
    // off the event loop (an unlink and a directory fsync took milliseconds of every put's time), and a
    // step at a time (removeSegmentFile); a crash before they land leaves a consumed segment that replay
    // reads and finds consumed
    if (paths.length) this.deletions = this.deletions.then(() => this.removeSegments(paths));
    let k = 0;
    const head = this.minLivePos();
    while (k + 1 < this.samples.length && this.samples[k + 1][0] <= head) k++;
    if (k) this.samples.splice(0, k);
  }

  private isEmptyByPosition(): boolean {
    return this.pending.length === 0 && this.tailPos >= this.durableEnd && this.inflight.size === 0;
  }

  private oldestEventAgeMs(): number {
    if (this.queued === 0 || this.isEmptyByPosition()) return 0;
    let oldest = Infinity;
    for (const t of this.inflight.values()) if (t.count && t.firstPutTime < oldest) oldest = t.firstPutTime;
    const head = this.pending.length ? this.pending[0].start : this.tailPos;
    if (head < this.durableEnd || this.pending.length) {
      // the last sample keyed at or before the head: never younger than the head event, and less
      // than SAMPLE_MS (1 s) older (replay.ts); open takes know their first event's put time exactly
      const t = sampledPutTime(this.samples, head);
      if (t !== undefined && t < oldest) oldest = t;
    }
    return oldest === Infinity ? 0 : Math.max(0, this.now() - oldest);
  }

  // ---------------------------------------------------------------- put

  put(events: FlumeEvent[]): Promise<void> {
    return this.putFrame(events.length, (putTime) => encodePutBatch(events, putTime, this.frames));
  }

  /** A source's line batch, encoded straight from its read buffers into the same Put frame. */
  putLines(lines: LineBatch): Promise<void> {
    return this.putFrame(lines.count, (putTime) => encodePutLines(lines, putTime, this.frames, this.mover));
  }

  private async putFrame(n: number, encode: (putTime: number) => Buffer): Promise<void> {
    if (this.state !== 'open') throw new ChannelClosedError(this.name, this.state === 'failed' ? this.failedWhy : `it is ${this.state}`);
    this.counters.inc('EventPutAttemptCount', n);
    if (n === 0) return;
    if (n > this.opts.transactionCapacity) throw new TransactionTooLargeError(this.name, n, this.opts.transactionCapacity);
    this.checkDisk();
    await this.reserve(n);
    let buf: Buffer;
    const putTime = this.now();
    try {
      buf = encode(putTime);
    } catch (err) {
      this.reserved -= n;
      this.room.notify();
      throw err;
    }
    let landed = false;
    try {
      await this.writer!.append(buf, (start, end) => {
        landed = true;
        if (this.counters.get('Unhealthy')) this.counters.set('Unhealthy', 0);
        this.reserved -= n;
        // landing callbacks run in log order, so this is the rule replay applies to the same frames
        const key = this.putEnd;
        this.putEnd = end;
        if (takesSample(this.samples[this.samples.length - 1], key, putTime, this.queued === 0)) this.samples.push([key, putTime]);
        this.queued += n;
        this.durableEnd = end;
        this.changedSinceCheckpoint = true;
        this.arrivals.notify();
        this.prepareSpare();
      });
    } catch (err) {
      if (!landed) {
        this.reserved -= n;
        this.room.notify();
      }
      this.counters.inc('EventPutErrorCount');
      this.counters.set('Unhealthy', 1);
      throw this.ioError('put', err);
    }
    this.bytesSinceDiskCheck += buf.length;
    this.counters.inc('EventPutSuccessCount', n);
  }

  private ioError(what: string, err: unknown): Error {
    if (err instanceof SegmentGoneError) this.lost(err);
    if (err instanceof FlumeError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return new ChannelFullError(this.name, `the disk is full (${(err as Error).message})`);
    return new ChannelClosedError(this.name, `${what} failed: ${(err as Error).message}`, { cause: err });
  }

  /**
   * The log's files were removed under it: nothing more can be made durable here, and what was pending is
   * gone with them. Refuse every put from now on (a source keeps its lines unread, positions do not move)
   * and tell the agent, which stops and exits non-zero, so a supervisor restarts it on fresh dirs.
   */
  private lost(err: Error): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.failedWhy = 'its log files were deleted while in use';
    this.counters.set('Unhealthy', 1);
    this.counters.set('Open', 0);
    if (this.timer) clearInterval(this.timer);
    this.room.notify();
    this.arrivals.notify();
    this.log.error(`${err.message}; ${this.queued} events that were pending in it are lost; the channel refuses puts from now on`);
    this.onFatal?.(err);
  }

  /** Room for `n` more events, first come first served (see Turns). */
  private reserve(n: number): Promise<void> {
    // keep-alive counts from the put, not from its turn
    const deadline = Date.now() + this.opts.keepAliveMs;
    return this.admissions.run(() => this.reserveNow(n, deadline));
  }

  private async reserveNow(n: number, deadline: number): Promise<void> {
    for (;;) {
      if (this.state !== 'open') throw new ChannelClosedError(this.name, `it is ${this.state}`);
      if (this.queued + this.reserved + n <= this.opts.capacity) {
        this.reserved += n;
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ChannelFullError(
          this.name,
          `${this.queued} of ${this.opts.capacity} events used, ${n} more do not fit after waiting ${this.opts.keepAliveMs} ms (sinks are not keeping up)`,
        );
      }
      await this.room.wait(left);
    }
  }

  /** Refuses puts while free space is under minimumRequiredSpace; statfs at most once a second or per 64 MiB written. */
  private checkDisk(): void {
    const now = Date.now();
    if (now - this.lastDiskCheck >= DISK_CHECK_MS || this.bytesSinceDiskCheck >= DISK_CHECK_BYTES) {
      this.lastDiskCheck = now;
      this.bytesSinceDiskCheck = 0;
      this.lowDisk = undefined;
      for (const d of this.dataDirs) {
        const free = this.freeBytes(d);
        if (free !== undefined && free < this.opts.minimumRequiredSpace) {
          this.lowDisk = `only ${mb(free)} free in ${d}, under minimumRequiredSpace ${mb(this.opts.minimumRequiredSpace)}`;
          break;
        }
      }
    }
    if (this.lowDisk) throw new ChannelFullError(this.name, this.lowDisk);
  }

  private freeBytes(dir: string): number | undefined {
    if (this.hooks.freeBytes) return this.hooks.freeBytes(dir);
    try {
      const s = statfsSync(dir);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      return undefined; // a runtime without statfs: the write itself reports ENOSPC as ChannelFullError
    }
  }

  // ---------------------------------------------------------------- take

  async waitForEvents(ms: number): Promise<void> {
    if (this.state !== 'open' || this.pending.length || this.tailPos < this.durableEnd) return;
    await this.arrivals.wait(ms);
  }

  take(max: number, maxBytes = Infinity): Promise<Taken> {
    if (this.state !== 'open') return Promise.reject(new ChannelClosedError(this.name, `it is ${this.state}`));
    return this.locked(() => this.takeLocked(Math.min(max, this.opts.transactionCapacity), maxBytes));
  }

  /** Runs `f` after every earlier take/rollback: they move the same cursors. */
  private locked<T>(f: () => Promise<T> | T): Promise<T> {
    const run = this.takeLock.then(f, f);
    this.takeLock = run.catch(() => undefined);
    return run;
  }

  private async takeLocked(max: number, maxBytes: number): Promise<Taken> {
    const id = ++this.takeSeq;
    const t: OpenTake = { ranges: [], count: 0, firstPutTime: 0 };
    this.inflight.set(id, t);
    const runs: EntryRun[] = [];
    const times: number[] = [];
    let count = 0;
    let bytes = 0;
    try {
      while (count < max && bytes < maxBytes && this.state === 'open') {
        let r: Range;
        let fromTail = false;
        if (this.pending.length) r = this.pending[0];
        else if (this.tailPos < this.durableEnd) {
          r = { start: this.tailPos, end: this.durableEnd };
          fromTail = true;
        } else break;
        const got = await this.reader!.read(r.start, r.end, max - count, runs, times, maxBytes - bytes);
        const p = got.next;
        count += got.count;
        bytes += got.bytes;
        if (p <= r.start && got.count === 0) break; // no progress: never spin
        if (p > r.start) insertRange(t.ranges, { start: r.start, end: p });
        if (fromTail) this.tailPos = p;
        else if (p >= r.end) this.pending.shift();
        else r.start = p;
      }
    } catch (err) {
      // hand the claimed spans back; the events stay in the channel
      this.reader!.releaseRuns(runs);
      this.inflight.delete(id);
      for (const r of t.ranges) this.giveBack(r);
      this.counters.inc('EventTakeAttemptCount', count + 1);
      this.counters.inc('EventTakeErrorCount');
      throw this.ioError('take', err);
    }
    // cut by the budget only with events left (not in this take or another open one): otherwise it is a short
    // take like any other (the log's tail holds take records too, so its position cannot tell)
    const cut = count < max && bytes >= maxBytes && this.untaken() > count;
    this.counters.inc('EventTakeAttemptCount', takeAttempts(count, cut ? count : max));
    t.count = count;
    t.firstPutTime = times[0] ?? 0;
    if (count === 0) this.inflight.delete(id);
    // spans with no events left (corrupt or already gone) are simply consumed
    if (count === 0 && t.ranges.length) {
      this.changedSinceCheckpoint = true;
      this.deleteConsumedSegments();
    }
    if (this.isEmptyByPosition()) this.queued = 0;
    return this.taken(id, t, runs, cut);
  }

  /** Events stored and not in an open take other than the one being made (whose count is not set yet). */
  private untaken(): number {
    let open = 0;
    for (const o of this.inflight.values()) open += o.count;
    return this.queued - open;
  }

  private giveBack(r: Range): void {
    insertRange(this.pending, r);
    const last = this.pending[this.pending.length - 1];
    if (last && last.end >= this.tailPos && last.start <= this.tailPos) {
      this.pending.pop();
      this.tailPos = last.start;
    }
  }

  private taken(id: number, t: OpenTake, runs: EntryRun[], cut = false): Taken {
    const n = t.count;
    const reader = this.reader!;
    const name = this.name;
    let done: 'open' | 'busy' | 'done' = n === 0 ? 'done' : 'open';
    let events: FlumeEvent[] | undefined;
    // The runs' buffers go back to the reader once the take is finished (read-buffers.ts). Only a
    // take consumed as `raw` lets them be read into again: one that nobody read yet keeps them
    // for its `events`, decoded later.
    let rawRead = false;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      if (!events && !rawRead) reader.pinRuns(runs);
      reader.releaseRuns(runs);
    };
    if (n === 0) release();
    return {
      count: n,
      cut,
      get raw(): readonly EntryRun[] {
        rawRead = true;
        return runs;
      },
      // decoded on first use: a sink that encodes from `raw` never pays for event objects
      get events(): FlumeEvent[] {
        if (!events) {
          if (released && rawRead) throw new FlumeError('TAKE_FINISHED', `channel ${name}: the events of a take delivered from its records are gone once it is finished`);
          reader.pinRuns(runs);
          events = [];
          decodeRuns(runs, events);
        }
        return events;
      },
      commit: async () => {
        if (done === 'done' && n === 0) return;
        if (done !== 'open') throw new FlumeError('TAKE_FINISHED', `channel ${this.name}: this take was already committed or rolled back`);
        if (this.state !== 'open' && this.state !== 'closing') throw new ChannelClosedError(this.name, `it is ${this.state}; the take comes back after a restart`);
        done = 'busy';
        try {
          await this.writer!.append(encodeTake(t.count, t.ranges), (_s, end) => {
            this.durableEnd = end;
            this.inflight.delete(id);
            this.queued = Math.max(0, this.queued - t.count);
            if (this.isEmptyByPosition()) this.queued = 0;
            this.changedSinceCheckpoint = true;
            this.counters.inc('EventTakeSuccessCount', t.count);
            this.room.notify();
            this.deleteConsumedSegments();
          });
        } catch (err) {
          done = 'open';
          this.counters.inc('EventTakeErrorCount');
          this.counters.set('Unhealthy', 1);
          throw this.ioError('take commit', err);
        }
        done = 'done';
        release();
      },
      rollback: async () => {
        if (done === 'done') return;
        if (done === 'busy') throw new FlumeError('TAKE_FINISHED', `channel ${this.name}: this take is being committed`);
        done = 'done';
        release();
        await this.locked(() => {
          this.inflight.delete(id);
          for (const r of t.ranges) this.giveBack(r);
          this.arrivals.notify();
        });
      },
    };
  }

  // ---------------------------------------------------------------- checkpoint

  /** Writes a checkpoint now (if anything changed); never throws, counts failures. */
  checkpoint(force = false): Promise<void> {
    if (this.checkpointing) return this.checkpointing;
    if (!force && !this.changedSinceCheckpoint && this.lastCheckpointAt) return Promise.resolve();
    if (!this.writer) return Promise.resolve();
    const ranges: Range[] = [];
    for (const r of this.pending) insertRange(ranges, r);
    for (const t of this.inflight.values()) for (const r of t.ranges) insertRange(ranges, r);
    if (this.tailPos < this.durableEnd) insertRange(ranges, { start: this.tailPos, end: this.durableEnd });
    const data: CheckpointData = {
      version: 1,
      writtenAt: Date.now(),
      end: this.durableEnd,
      size: this.queued,
      ranges,
      samples: this.samples.slice(),
      putEnd: this.putEnd,
    };
    this.changedSinceCheckpoint = false;
    this.checkpointing = writeCheckpoint(this.checkpointDir, data)
      .then(() => {
        this.lastCheckpointAt = data.writtenAt;
        this.log.debug(`checkpoint at ${fmtPos(data.end)} (offset ${offOf(data.end)}): ${data.size} events pending`);
      })
      .catch((err: Error) => {
        this.changedSinceCheckpoint = true;
        this.counters.inc('CheckpointWriteErrorCount');
        this.log.rateLimited('warn', `file-channel-ckpt:${this.name}`, `checkpoint in ${this.checkpointDir} failed: ${err.message} (replay at the next start will take longer)`);
      })
      .finally(() => {
        this.checkpointing = undefined;
      });
    return this.checkpointing;
  }
}

function mb(n: number): string {
  return `${(n / 1048576).toFixed(1)} MB`;
}
