import { fstatSync, read, stat, type Stats } from 'node:fs';
import { BufferPool } from '../../core/buffer-pool.ts';
import type { WritesFiles } from '../../core/lifecycle.ts';
import { batchCount, type SourceBatch } from '../../core/line-batch.ts';
import { ChannelFullError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { CounterGroup, SOURCE_COUNTERS } from '../../metrics/counters.ts';
import type { Source, SourceDeps } from '../source.ts';
import { Discovery, type FileGroup, type WatchEvent } from './discovery.ts';
import { EMPTY_FINGERPRINT, FINGERPRINT_BYTES, fingerprintMatches, fingerprintMatchesNow, fingerprintOf, identityKey, type Fingerprint } from './identity.ts';
import { PositionStore, type PositionEntry } from './positions.ts';
import { BatchCollector, releaseBatch } from './collector.ts';
import { COPY_WINDOW, CUT_MS, cutAt, judgeable, markBefore, sameBefore, type Cut } from './copies.ts';
import { chunkBytes, FileReader, fstatNow, openRead, closeFd, SYNC_READ_MAX, type LongLines } from './reader.ts';

const EMPTY_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

export interface TaildirOptions {
  /** Flume's file groups (directory literal, file-name regex) */
  groups: FileGroup[];
  /** `headers.<group>.<key>` */
  groupHeaders: Record<string, Record<string, string>>;
  /** directories (recursive), files or globs */
  paths: string[];
  exclude: string[];
  defaultExcludes: boolean;
  /** absolute; when absent, `<stateDir>/taildir/<source name>.positions.json` */
  positionFile?: string;
  skipToEnd: boolean;
  skipToEndOnFirstStart: boolean;
  idleTimeout: number;
  writePosInterval: number;
  batchSize: number;
  maxBatchCount: number;
  backoffSleepIncrement: number;
  maxBackoffSleep: number;
  fileHeader: boolean;
  fileHeaderKey: string;
  byteOffsetHeader: boolean;
  maxLineLength: number;
  longLines: LongLines;
  maxOpenFiles: number;
  /** puts in flight at once (pipelining); not a Flume key */
  maxInFlight?: number;
  /** bytes per read(2) */
  chunkSize?: number;
  /** how long a truncation or a held copy's last growth counts as copytruncate's (copies.ts CUT_MS); for tests */
  copyWindowMs?: number;
}

export const TAILDIR_EXTRA_COUNTERS = ['BytesRead', 'LinesSplit', 'LinesTruncated', 'BytesAbandoned', 'CopyBytesSkipped'] as const;

interface Pending {
  gen: number;
  /** reader position after the batch's last line */
  end: number;
  done: boolean;
  /** markBefore(end), when taken (see copies.ts) */
  mark?: number;
  /** run once this batch and every one before it are finished: a copy's position waits on its original's */
  then?: (() => void)[];
}

/** A copy held unread (copies.ts): the file it repeats, how far they were compared, when it last grew. */
interface Hold {
  of: Tracked;
  upTo: number;
  since: number;
}

/** Where a newly found file is read from, and what is known of it (see startPosition). */
interface Start {
  at: number;
  fresh: boolean;
  cut?: Cut;
  /** the position's mark, from the position file */
  mark?: number;
}

/** One file being followed, known by device+inode+fingerprint, whatever its path is now. */
interface Tracked {
  key: string;
  dev: number;
  ino: number;
  path: string;
  group: string | null;
  fp: Fingerprint;
  reader: FileReader;
  /** position of the last line the channel committed */
  committed: number;
  /** bumped on truncation: batches read before it no longer move `committed` */
  gen: number;
  queue: Pending[];
  size: number;
  mtimeMs: number;
  /** seen in the last listing (false: rotated out of the patterns, or deleted) */
  listed: boolean;
  /** deleted while open (no links left) */
  deleted: boolean;
  /** last time the file grew or was read from */
  lastChange: number;
  lastRead: number;
  /** may have bytes to read */
  hint: boolean;
  changeSeq: number;
  /** finished: its last bytes were handed out and its descriptor closed; dropped once its batches committed */
  released: boolean;
  /** the headers of the file's plain lines: frozen, shared by them */
  headers: Readonly<Record<string, string>>;
  /** nothing of its bytes read yet (found without a position, at position 0, or just truncated): it may be another file's copy (copies.ts) */
  fresh: boolean;
  /** held unread: a copy of another file's bytes, while that one is whole */
  held?: Hold;
  /** copies held for this file */
  holds: number;
  /** markBefore of the reader's position after the last batch read, and that position */
  mark?: { at: number; crc: number };
  /** markBefore(committed), kept in the position file */
  committedMark?: number;
  /** what it held before its last truncation, for a copy found after it */
  cut?: Cut;
}

/**
 * Puts a source keeps in flight. A put into the file channel waits for an
 * O_DSYNC write of 1-2 ms, two of which may run at once, and the source
 * encodes a 1000-line batch in about 0.2 ms: with 8 in flight it still sat
 * idle 70-160 ms per million lines of a backlog waiting for them, with 16
 * half that (bench-tail ~12 % faster, end to end 8-10 % on Node and Bun;
 * 8 was 6-9 % faster than 4). Bun keeps 8: with 16 its peak RSS rose by
 * 12-20 MB (to 134-141 MB, against the 150 MB target), Node's by 3-6 and
 * Deno's not at all (BENCHMARKS.md). Positions still advance only in order,
 * as batches commit; a kill -9 repeats these batches and the lines committed
 * since the positions were last saved (RECENT_POS_MS).
 */
export const MAX_IN_FLIGHT = 'Bun' in globalThis ? 8 : 16;
/**
 * Lines a source keeps in flight: MAX_IN_FLIGHT puts of 1000 lines. Larger
 * batches get fewer puts in flight (quick mode's 2000-line puts get half as
 * many), so what a backlog holds in memory, and what a kill -9 repeats,
 * stays the same; but never fewer than two puts, or the source would wait on
 * every fsync (so batches above half of it hold more: two of 10,000 lines).
 */
export const LINES_IN_FLIGHT = MAX_IN_FLIGHT * 1000;

/**
 * A batch also ends once its lines pass this many bytes. Puts in flight are
 * counted in lines (LINES_IN_FLIGHT), which bounds their memory only for
 * short lines: quick mode's 2000-line batches of 8 KB lines took its peak
 * RSS to 363 MB. Lines of ~180 bytes fill 2000-line batches of ~360 KB, so
 * this leaves them as they are.
 */
export const MAX_BATCH_BYTES = 512 * 1024;

/** Puts a source keeps in flight for its batch size (LINES_IN_FLIGHT). */
export function putsInFlight(batchSize: number): number {
  if (!(batchSize >= 1)) return MAX_IN_FLIGHT;
  return Math.max(2, Math.min(MAX_IN_FLIGHT, Math.floor(LINES_IN_FLIGHT / batchSize)));
}
/**
 * How long the loop lets appends gather once it has caught up with a live
 * file: each round costs a put and a sync (and the sink's take and its
 * sync), so reading every few bytes as they arrive would burn a core at 20k
 * lines/s; 2 ms adds little to latency.
 */
const LINGER_MS = 2;
/**
 * A slower writer gets a longer linger, up to MAX_LINGER_MS, so a round still
 * gathers about GATHER_LINES lines: an application that writes its log a line
 * at a time, 1,000 times a second, had a round (and two syncs) for every few
 * lines, and the agent used 80 % of a core (54 % with 10 ms; BENCHMARKS.md).
 * At 20k lines/s and above the linger stays LINGER_MS.
 */
const GATHER_LINES = 32;
const MAX_LINGER_MS = 10;
/**
 * Committed positions go to the positions file's `.recent` at most this often between its durable writes
 * (positions.ts): a restart after kill -9 then repeats about this much of committed lines besides the batches
 * in flight, not up to writePosInterval's worth.
 */
const RECENT_POS_MS = 25;
/** An append to a file not tracked makes a listing at most this often (see onWatch). */
const UNKNOWN_CHANGE_RELIST_MS = 1000;
/**
 * A file appended to within this long is stat'ed again after short sleeps
 * (HOT_SLEEP_MS, doubling) even without a change event, and read if it
 * changed (checkFiles): watches miss an event now and then
 * (Bun's dropped the last append of about one burst in eight, measured), and
 * a missed append then waited out the whole idle sleep.
 */
const HOT_MS = 2000;
const HOT_SLEEP_MS = 10;
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Flume's TAILDIR source. Finds files (discovery.ts), follows each one by
 * identity rather than path (identity.ts), reads them by offset (reader.ts),
 * and puts batches into the channel, several in flight at once; a file's
 * committed position moves, in read order, only when the channel committed
 * its batches, and only committed positions are written (positions.ts).
 *
 * One loop does all reading and checking, so a file's state is never touched
 * by two readers; put completions only mark batches done and move positions.
 */
export class TaildirSource implements Source, WritesFiles {
  readonly name: string;
  readonly counters: CounterGroup;
  private readonly log: Logger;
  private readonly discovery: Discovery;
  private readonly store: PositionStore;
  private readonly files = new Map<string, Tracked>();
  private readonly byPath = new Map<string, Tracked>();
  private loaded: Map<number, PositionEntry[]> | null = null;
  private positionsExisted = false;
  private stopping = false;
  private running: Promise<void> | null = null;
  private inFlight = 0;
  /** the last round left a file unread to its end (batch limits): read on without lingering */
  private backlog = false;
  /** tracked files the last listing did not find (rotated out of the paths, deleted) */
  private unlisted: Tracked[] = [];
  private lastUnknownChange = 0;
  /** lines read by the last round, and the arrival rate seen by rounds (lines per ms, smoothed), for the linger */
  private roundLines = 0;
  private lastRoundAt = 0;
  private arrivals = 0;
  /** batches whose last put failed: reading pauses until they go through */
  private failing = 0;
  private readonly puts = new Set<Promise<void>>();
  private needList = true;
  private lastList = 0;
  private lastCheck = 0;
  private lastPosWrite = 0;
  private recentTimer?: ReturnType<typeof setTimeout>;
  private posDirty = false;
  private openCount = 0;
  private roundStart = 0;
  private readonly sleepers = new Set<() => void>();
  /** wakeAll calls so far: a round that saw one does not then sleep (the wake found nobody asleep) */
  private wakes = 0;
  private readonly backoffs = new Set<() => void>();
  private readonly slotWaiters: (() => void)[] = [];
  private readonly maxInFlight: number;
  /** lines per batch: its batch size, or less if its channels take less at a time */
  private readonly batchMax: number;
  private readonly pool: BufferPool;
  /** the regular files this process's stdout and stderr go to (outputFiles), and those already said so */
  private outputs = new Set<string>();
  private readonly outputsSaid = new Set<string>();
  /** batches go as line batches (see ChannelProcessor.takesLines), else as events */
  private readonly asLines: boolean;
  private readonly copyWindow: number;

  constructor(private readonly opts: TaildirOptions, private readonly deps: SourceDeps, positionFile: string) {
    this.name = deps.name;
    this.log = deps.log;
    this.counters = new CounterGroup('SOURCE', deps.name, 'TAILDIR', [...SOURCE_COUNTERS, ...TAILDIR_EXTRA_COUNTERS]);
    this.counters.gauge('FilesTracked', () => this.files.size);
    this.counters.gauge('FilesOpen', () => this.openCount);
    this.counters.details = () => ({ files: this.fileDetails() });
    this.store = new PositionStore(positionFile);
    this.discovery = new Discovery(
      { groups: opts.groups, paths: opts.paths, exclude: opts.exclude, defaultExcludes: opts.defaultExcludes },
      deps.log,
    );
    this.batchMax = Math.max(1, Math.min(opts.batchSize, deps.processor.maxBatch));
    // by the batches it will put
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? putsInFlight(this.batchMax));
    // Read buffers are reused once no batch holds lines in them (left to V8, the freed 256 KiB buffers of
    // the time piled up to ~70 MB before it swept them); a spare one per batch in flight, and one being read.
    this.pool = new BufferPool(chunkBytes(opts.chunkSize), this.maxInFlight + 2);
    this.asLines = deps.processor.takesLines === true;
    this.copyWindow = opts.copyWindowMs ?? CUT_MS;
  }

  get positionFile(): string {
    return this.store.path;
  }

  writesUnder(): readonly string[] {
    return this.store.files();
  }

  async start(): Promise<void> {
    this.stopping = false;
    // its own positions file, whether or not an agent runs it, and whatever the rest of the agent writes
    this.discovery.avoid([...this.writesUnder(), ...(this.deps.agentWrites?.() ?? [])]);
    this.outputs = outputFiles();
    for (const dir of this.discovery.groupDirs()) {
      await new Promise<void>((resolve) => stat(dir, (err, st) => {
        if (err || !st.isDirectory()) this.log.warn(`file group directory ${dir} does not exist (yet); files appearing there will be tailed`);
        resolve();
      }));
    }
    const loaded = await this.store.load();
    if (loaded.problem) this.log.warn(loaded.problem);
    this.positionsExisted = loaded.existed;
    this.loaded = new Map();
    for (const e of loaded.entries) {
      const list = this.loaded.get(e.inode);
      if (list) list.push(e);
      else this.loaded.set(e.inode, [e]);
    }
    await this.rescan(true);
    this.loaded = null;
    // written at once, so the next start knows it is not the first one
    await this.writePositions();
    this.discovery.watch((kind, path) => this.onWatch(kind, path));
    this.counters.startTime = Date.now();
    this.running = this.run().catch((err) => {
      this.counters.inc('GenericProcessingFail');
      this.log.error(`taildir source ${this.name} stopped reading: ${(err as Error).stack ?? err}`);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.recentTimer);
    this.recentTimer = undefined;
    this.wakeAll();
    await this.running;
    this.running = null;
    await Promise.allSettled([...this.puts]);
    await this.discovery.close();
    try {
      await this.writePositions(true);
    } catch (err) {
      this.log.error(`cannot write positions to ${this.store.path}: ${(err as Error).message}`);
    }
    for (const f of this.files.values()) await this.closeFile(f);
    this.files.clear();
    this.byPath.clear();
    this.counters.stopTime = Date.now();
  }

  // ---- the loop ------------------------------------------------------------

  private async run(): Promise<void> {
    let idle = 0;
    while (!this.stopping) {
      const now = Date.now();
      const wakes = this.wakes;
      if (this.needList || now - this.lastList >= Math.max(this.opts.maxBackoffSleep, 100)) await this.rescan(false);
      if (now - this.lastCheck >= this.checkInterval()) await this.checkFiles();
      const progressed = this.failing === 0 ? await this.readRound() : false;
      await this.housekeeping();
      if (this.stopping) break;
      if (progressed) {
        idle = 0;
        // Caught up with a file that is still being written: let a few appends gather before reading
        // again, instead of spinning on a few bytes per round (a put and a sync each).
        if (!this.backlog) await delay(this.linger(now));
      } else if (this.wakes !== wakes && this.failing === 0) {
        // file activity during this round (its wake found nobody asleep): look again, do not sleep through it
        await delay(LINGER_MS);
      } else {
        idle++;
        const idleMs = Math.min(idle * this.opts.backoffSleepIncrement, this.opts.maxBackoffSleep);
        const hot = this.failing === 0 ? this.hotFiles(Date.now()) : [];
        const ms = this.failing > 0 ? this.opts.backoffSleepIncrement : hot.length ? Math.min(HOT_SLEEP_MS * 2 ** (idle - 1), idleMs) : idleMs;
        await this.sleep(ms);
        // after a short sleep, stat the recently appended files whether or not a watch said so: only a
        // change found makes a read (a read on every poll could be in flight at the old offset while a
        // copytruncate regrows the file, and read the new file's bytes there)
        if (hot.length) await this.checkFiles(hot);
        await delay(LINGER_MS);
      }
    }
  }

  /** The linger after a round that caught up: long enough for about GATHER_LINES lines at the rate they arrive. */
  private linger(roundStart: number): number {
    const ms = Math.max(1, roundStart - this.lastRoundAt);
    this.lastRoundAt = roundStart;
    this.arrivals = 0.7 * this.arrivals + 0.3 * (this.roundLines / ms);
    return Math.min(MAX_LINGER_MS, Math.max(LINGER_MS, GATHER_LINES / Math.max(this.arrivals, 1e-3)));
  }

  /** Open files appended to within HOT_MS. */
  private hotFiles(now: number): Tracked[] {
    const out: Tracked[] = [];
    for (const f of this.files.values()) if (!f.released && f.reader.fd !== null && now - f.lastChange < HOT_MS) out.push(f);
    return out;
  }

  private checkInterval(): number {
    return Math.min(Math.max(this.opts.backoffSleepIncrement, 10), 1000);
  }

  private onWatch(kind: WatchEvent, path: string): void {
    if (kind === 'change') {
      const f = this.byPath.get(path);
      if (f) {
        f.changeSeq++;
        f.hint = true;
      } else {
        // a file renamed out of the paths is reported under its new name, which is not tracked: the files
        // rotated away and still open are looked at. Otherwise it is the agent's own output, an excluded
        // file, or one whose creation event was dropped (Bun's are, now and then): listed again, at most once
        // a second, since the agent's own output would otherwise make a listing of every line it prints
        let hinted = false;
        for (const t of this.unlisted) {
          if (t.released || t.reader.fd === null) continue;
          t.changeSeq++;
          t.hint = true;
          hinted = true;
        }
        if (!hinted) {
          const now = Date.now();
          if (now - this.lastUnknownChange < UNKNOWN_CHANGE_RELIST_MS) return;
          this.lastUnknownChange = now;
          this.needList = true;
        }
      }
    } else {
      this.needList = true;
    }
    this.wakeAll();
  }

  /** A sleep that ends early on stop, and (the loop's idle sleep, not a put's backoff) on file activity. */
  private sleep(ms: number, wakeOnActivity = true): Promise<void> {
    if (this.stopping) return Promise.resolve();
    const set = wakeOnActivity ? this.sleepers : this.backoffs;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        set.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      set.add(done);
    });
  }

  private wakeAll(): void {
    this.wakes++;
    for (const s of [...this.sleepers]) s();
    if (this.stopping) {
      for (const s of [...this.backoffs]) s();
      for (const w of this.slotWaiters.splice(0)) w();
    }
  }

  // ---- discovery and identity ------------------------------------------------

  private async rescan(initial: boolean): Promise<void> {
    this.needList = false;
    this.lastList = Date.now();
    const listing = await this.discovery.list();
    const seen = new Set<Tracked>();
    for (const [path, group] of listing) {
      if (this.stopping) return;
      let st: Stats;
      try {
        st = await statP(path);
      } catch {
        continue;
      }
      if (!st.isFile()) continue;
      const key = identityKey(st.dev, st.ino);
      if (this.outputs.has(key)) {
        if (!this.outputsSaid.has(key)) this.log.info(`${path} is where this agent's own output goes (stdout or stderr): not tailed`);
        this.outputsSaid.add(key);
        continue;
      }
      // a closed file's content is checked against its fingerprint when it is reopened (ensureOpen)
      const f = this.files.get(key);
      if (f && !f.released) {
        if (f.path !== path) {
          this.log.info(`${f.path} is now ${path} (same file, position ${f.reader.pos} kept)`);
          this.setPath(f, path);
        }
        if (st.size !== f.size) f.hint = true;
        f.listed = true;
        seen.add(f);
        continue;
      }
      if (f?.released) continue; // its last batches are still being committed
      const t = await this.track(path, group, st, initial);
      if (t) seen.add(t);
    }
    for (const f of this.files.values()) {
      if (!seen.has(f) && f.listed) {
        // rotated out of the patterns or deleted: drain it first (readRound reads such files before the rest)
        f.listed = false;
        f.hint = true;
      }
    }
    this.unlisted = [...this.files.values()].filter((f) => !f.listed);
  }

  private async track(path: string, group: string | null, st: Stats, initial: boolean): Promise<Tracked | undefined> {
    let fd: number;
    try {
      fd = await openRead(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // gone between the listing and the open (a temp file, a quick rotation): never tracked, nothing of it read or lost by us
        this.log.debug(`${path}: gone before it could be opened`);
        return undefined;
      }
      this.counters.inc('EventReadFail');
      this.log.rateLimited('warn', `taildir-open:${path}`, `cannot open ${path}: ${(err as Error).message}`);
      return undefined;
    }
    let start: Start;
    let fst: Stats;
    try {
      fst = fstatSync(fd);
      if (fst.ino !== st.ino || fst.dev !== st.dev) {
        await closeFd(fd);
        this.needList = true;
        return undefined;
      }
      start = await this.startPosition(path, fd, fst, initial);
    } catch (err) {
      await closeFd(fd);
      this.counters.inc('EventReadFail');
      this.log.rateLimited('warn', `taildir-open:${path}`, `cannot read ${path}: ${(err as Error).message}`);
      return undefined;
    }
    const now = Date.now();
    const f: Tracked = {
      key: identityKey(fst.dev, fst.ino),
      dev: fst.dev,
      ino: fst.ino,
      path,
      group,
      fp: await fingerprintOf(fd, fst.size).catch(() => EMPTY_FINGERPRINT),
      reader: new FileReader(start.at, { maxLineLength: this.opts.maxLineLength, longLines: this.opts.longLines, chunkSize: this.opts.chunkSize, pool: this.pool }),
      committed: start.at,
      gen: 0,
      queue: [],
      size: fst.size,
      mtimeMs: fst.mtimeMs,
      listed: true,
      deleted: false,
      lastChange: now,
      lastRead: now,
      hint: true,
      changeSeq: 0,
      released: false,
      headers: EMPTY_HEADERS,
      fresh: start.fresh,
      holds: 0,
      cut: start.cut,
      // a resumed position keeps its mark: a copytruncate before the next batch is still known
      mark: start.mark === undefined ? undefined : { at: start.at, crc: start.mark },
      committedMark: start.mark,
    };
    this.setPath(f, path);
    this.files.set(f.key, f);
    this.log.debug(`tracking ${path} (${f.key}) from ${start.at}`);
    this.positionsChanged();
    // keep the descriptor if the budget allows: a file deleted before we read it is then still readable
    if (this.openCount < this.opts.maxOpenFiles) {
      f.reader.fd = fd;
      this.openCount++;
    } else {
      await closeFd(fd);
    }
    return f;
  }

  /** Where a newly found file starts: its committed position if one is recorded and still trustworthy, else its start (or end). */
  private async startPosition(path: string, fd: number, st: Stats, initial: boolean): Promise<Start> {
    const candidates = this.loaded?.get(st.ino)?.filter((e) => e.dev === undefined || e.dev === st.dev) ?? [];
    if (candidates.length > 0) {
      const e = candidates.find((c) => c.file === path) ?? candidates[0];
      if (e.fp !== undefined && e.fpLen !== undefined) {
        const fp = { fp: e.fp, fpLen: e.fpLen };
        if (e.pos <= st.size && (await fingerprintMatches(fd, st.size, fp))) {
          if (e.file !== path) this.log.info(`${e.file} is now ${path}: resuming at ${e.pos}`);
          return { at: e.pos, fresh: e.pos === 0, mark: e.mark };
        }
        this.log.warn(`stale position for ${path} (recorded ${e.pos} for ${e.file}, file is ${st.size} bytes, ${e.pos > st.size ? 'offset beyond its end' : 'its first bytes changed'}): reading it from its start`);
        // truncated while the agent was stopped: a copy made before that may be found, and read on from the position
        return { at: 0, fresh: true, cut: cutAt(fp, e.pos, e.mark) };
      }
      // written by Apache Flume: no fingerprint, so inode and path must both agree, as Flume requires
      if (e.file === path && e.pos <= st.size) {
        this.log.info(`${path}: resuming at ${e.pos} from a Flume position entry (inode and path match)`);
        return { at: e.pos, fresh: e.pos === 0 };
      }
      if (e.file === path) {
        this.log.warn(`stale position for ${path} (recorded ${e.pos}, file is ${st.size} bytes): reading it from its start`);
      } else {
        this.log.info(`${path}: inode ${st.ino} was recorded for ${e.file}; without a fingerprint it cannot be trusted, reading from the start`);
      }
      return { at: 0, fresh: true };
    }
    if (initial && (this.opts.skipToEnd || (this.opts.skipToEndOnFirstStart && !this.positionsExisted))) {
      return { at: await lineStartBefore(fd, st.size), fresh: false };
    }
    return { at: 0, fresh: true };
  }

  private setPath(f: Tracked, path: string): void {
    if (this.byPath.get(f.path) === f) this.byPath.delete(f.path);
    f.path = path;
    this.byPath.set(path, f);
    const h: Record<string, string> = {};
    if (f.group !== null) Object.assign(h, this.opts.groupHeaders[f.group]);
    if (this.opts.fileHeader) h[this.opts.fileHeaderKey] = path;
    // shared by every plain line of the file (see BatchCollector): frozen, replaced (never changed) on a rename
    f.headers = Object.freeze(h);
  }

  /** Stat every file (or just `only`): truncation, deletion, growth, fingerprint. */
  private async checkFiles(only?: Tracked[]): Promise<void> {
    if (!only) this.lastCheck = Date.now();
    for (const f of only ?? [...this.files.values()]) {
      if (this.stopping) return;
      if (f.released) continue;
      let st: Stats;
      if (f.reader.fd !== null) {
        const fst = fstatNow(f.reader.fd);
        if (!fst) continue;
        st = fst;
        if (st.nlink === 0 && !f.deleted) {
          f.deleted = true;
          f.hint = true;
        }
      } else {
        try {
          st = await statP(f.path);
        } catch {
          if (!f.listed) this.forget(f, 'it vanished while closed');
          else this.needList = true;
          continue;
        }
        if (identityKey(st.dev, st.ino) !== f.key) {
          this.needList = true;
          if (!f.listed) this.forget(f, 'it was replaced while closed');
          continue;
        }
      }
      await this.observe(f, st);
    }
  }

  private async observe(f: Tracked, st: Stats): Promise<void> {
    const fd = f.reader.fd;
    let truncated = st.size < f.reader.readAt;
    if (!truncated && fd !== null && (st.size !== f.size || st.mtimeMs !== f.mtimeMs) && f.fp.fpLen > 0) {
      // it changed: make sure it still starts with the bytes we fingerprinted (truncated and regrown past our offset?)
      try {
        truncated = !fingerprintMatchesNow(fd, st.size, f.fp);
      } catch {
        truncated = false; // unreadable now: the read that follows reports it
      }
    }
    if (truncated) {
      this.log.warn(`${f.path} was truncated (now ${st.size} bytes, we were at ${f.reader.readAt}): reading it again from its start`);
      const end = f.reader.pos;
      // what a copy made before the truncation must show (the mark is of the bytes before where reading got to)
      f.cut = cutAt(f.fp, end, f.mark?.at === end ? f.mark.crc : undefined);
      this.handOver(f, end);
      f.mark = undefined;
      f.reader.reset(0);
      f.gen++;
      f.committed = 0;
      f.committedMark = undefined;
      // its bytes are new to us, and may be a copy (a copy made over an old one, as `cp` does, is this file)
      f.fresh = true;
      f.fp = EMPTY_FINGERPRINT;
      f.hint = true;
      this.positionsChanged();
    }
    if (st.size !== f.size || st.mtimeMs !== f.mtimeMs) {
      f.lastChange = Date.now();
      f.size = st.size;
      f.mtimeMs = st.mtimeMs;
    }
    if (st.size > f.reader.readAt) f.hint = true;
    if (fd !== null && f.fp.fpLen < FINGERPRINT_BYTES && st.size > f.fp.fpLen) {
      f.fp = await fingerprintOf(fd, st.size).catch(() => f.fp);
    }
  }

  // ---- copies (copies.ts) ------------------------------------------------------

  /**
   * Before reading a fresh file: is it a copy of a file being tailed (in its file group)? False while it is held
   * as one. A file found to be the copy of one truncated is read on from where that one was read to.
   *
   * Answered synchronously unless there is something to compare: an await between the truncation check before a
   * batch and its read lets a truncation and regrowth in between go unseen, and the fingerprint then taken for one
   * later makes the file read twice (the model test's counterexample, in-process, 23 runs in 30).
   */
  private mayRead(x: Tracked): boolean | Promise<boolean> {
    const fd = x.reader.fd;
    const st = fd === null ? null : fstatNow(fd);
    if (!st) return true;
    if (x.held) return this.stillHeld(x, st.size);
    if (!judgeable(x.fp) || st.size < FINGERPRINT_BYTES) return true;
    for (const t of this.files.values()) {
      if (t !== x && !t.released && !t.held && t.group === x.group && (t.fp.fp === x.fp.fp || t.cut?.fp.fp === x.fp.fp)) {
        return this.judge(x, st.size);
      }
    }
    return true;
  }

  /** A held copy that changed: still a copy (false), or handed over or let go (true: read it). */
  private async stillHeld(x: Tracked, size: number): Promise<boolean> {
    const h = x.held!;
    // truncated since it was last looked at? then the copy is handed over (observe), not let go
    await this.look(h.of);
    if (!x.held) return true;
    if (size === h.upTo) return false;
    if (await this.sameAs(x, size, h.of)) {
      h.upTo = size;
      h.since = Date.now();
      return false;
    }
    this.unhold(x);
    this.log.info(`${x.path} no longer repeats ${h.of.path}: reading it from its start`);
    return true;
  }

  /** A fresh file of `size` bytes with the first KiB of a tailed file (or of its cut): hold it, continue it, or read it. */
  private async judge(x: Tracked, size: number): Promise<boolean> {
    const fd = x.reader.fd!;
    for (const t of [...this.files.values()]) {
      if (t === x || t.released || t.held || t.group !== x.group) continue;
      if (t.fp.fp === x.fp.fp) {
        await this.look(t);
        if (await this.sameAs(x, size, t)) {
          x.held = { of: t, upTo: size, since: Date.now() };
          t.holds++;
          this.log.info(`${x.path} repeats the bytes of ${t.path} (a copy, as copytruncate makes): held unread while ${t.path} is read`);
          return false;
        }
      }
      const cut = t.cut;
      if (cut && Date.now() - cut.at <= this.copyWindow && cut.fp.fp === x.fp.fp && size >= cut.end && markBefore(fd, cut.end) === cut.mark) {
        this.continueCopy(x, t, cut.end, cut.end);
        return true;
      }
    }
    return true;
  }

  /** Stat an open file and take in what changed (a truncation makes its cut and hands its copies over). */
  private async look(t: Tracked): Promise<void> {
    let st: Stats | null;
    if (t.reader.fd !== null) st = fstatNow(t.reader.fd);
    else st = await statP(t.path).then((s) => (identityKey(s.dev, s.ino) === t.key ? s : null), () => null);
    if (st) await this.observe(t, st);
  }

  /**
   * Does `x` (`size` bytes) hold the same bytes as the file `t`, whole (not truncated), as far as `x` goes?
   * A closed `t` is opened for the comparison.
   */
  private async sameAs(x: Tracked, size: number, t: Tracked): Promise<boolean> {
    const xfd = x.reader.fd;
    if (xfd === null || !judgeable(t.fp) || t.fp.fp !== x.fp.fp) return false;
    let tfd = t.reader.fd;
    const opened = tfd === null;
    if (tfd === null) tfd = await openRead(t.path).catch(() => null);
    if (tfd === null) return false;
    try {
      const tst = fstatNow(tfd);
      return tst !== null && identityKey(tst.dev, tst.ino) === t.key && tst.size >= size
        && fingerprintMatchesNow(tfd, tst.size, t.fp) && sameBefore(xfd, tfd, size);
    } catch {
      return false;
    } finally {
      if (opened) await closeFd(tfd);
    }
  }

  /** `x` is held no longer: it is read from its start. */
  private unhold(x: Tracked): void {
    if (!this.dropHold(x)) return;
    x.fresh = false;
    x.hint = true;
  }

  private dropHold(x: Tracked): boolean {
    if (!x.held) return false;
    x.held.of.holds--;
    x.held = undefined;
    return true;
  }

  /**
   * A held copy deleted (or gone from the paths) is let go once it is known to hold only bytes its original gave
   * (compared up to its size, and read from the original that far). One whose original has not been truncated
   * within copyWindow of its last growth is a file of its own after all (a backup, or a log that happens to repeat
   * another): read from its start, its lines sent again rather than never.
   */
  private keepHolding(x: Tracked, now: number): void {
    const h = x.held!;
    // every byte of it is known to be the original's (compared) and was read from there; its size now, not as last seen
    const size = (x.reader.fd === null ? null : fstatNow(x.reader.fd))?.size ?? x.size;
    if ((x.deleted || !x.listed) && size <= h.upTo && h.of.reader.pos >= h.upTo) {
      this.log.info(`${x.path}: a copy of ${h.of.path} held unread, ${x.deleted ? 'deleted' : 'gone from the paths'}: released`);
      this.release(x);
    } else if (now - h.since > this.copyWindow) {
      this.log.info(`${x.path} repeats ${h.of.path}, which was not truncated within ${this.copyWindow / 1000} s: reading it from its start as a file of its own`);
      this.unhold(x);
    }
  }

  /**
   * `t` is truncated or let go at `end` (where it was read to): the copies held for it are read on from there, as
   * far as they are known to repeat it (compared up to `upTo`; up to `end` if the bytes before it are `t`'s mark).
   */
  private handOver(t: Tracked, end: number): void {
    if (t.holds === 0) return;
    for (const x of [...this.files.values()]) {
      const h = x.held;
      if (h?.of !== t) continue;
      let at = Math.min(end, h.upTo);
      const fd = x.reader.fd;
      if (at < end && fd !== null && t.mark?.at === end && markBefore(fd, end) === t.mark.crc) at = end;
      this.unhold(x);
      this.continueCopy(x, t, at, end);
    }
  }

  /**
   * The copy `x` of `t` is read on from `at` (≤ `end`, where `t` was read to). Its position waits for `t`'s
   * batches read so far: until they committed, a restart reads the copy from its start (repeats, never a loss).
   */
  private continueCopy(x: Tracked, t: Tracked, at: number, end: number): void {
    x.fresh = false;
    const fd = x.reader.fd;
    // inside an over-long line of `t`, the copy goes on as its reader was (the next piece, or still skipping)
    x.reader.resumeAs(at, t.reader);
    x.mark = undefined;
    const dep: Pending = { gen: x.gen, end: at, done: false, mark: fd === null ? undefined : markBefore(fd, at) };
    x.queue.push(dep);
    const ready = (): void => {
      dep.done = true;
      this.advance(x);
      // written at the next round, not after writePosInterval: until then a restart reads the copy from its start
      this.lastPosWrite = 0;
    };
    const last = t.queue.at(-1);
    if (last) (last.then ??= []).push(ready);
    else ready();
    x.hint = true;
    this.counters.inc('CopyBytesSkipped', at);
    this.log.info(`${x.path} is a copy of ${t.path}, whose first ${end} bytes were read: reading it from ${at}, not again from its start`);
  }

  /** Drop a file we can no longer read; what we never read of it is counted as abandoned. */
  private forget(f: Tracked, why: string): void {
    this.log.debug(`${f.path}: let go, ${why}`);
    // a held copy's bytes are its original's as far as they were compared
    const lost = Math.max(0, f.size - (f.held ? f.held.upTo : f.reader.pos));
    if (lost > 0) {
      this.counters.inc('BytesAbandoned', lost);
      this.log.warn(`${f.path}: ${why}; ${lost} unread bytes could not be read`);
    }
    this.release(f);
  }

  /**
   * Done with `f`: the copies held for it go on from where it was read to, its descriptor is closed, and it is
   * dropped from the files once its batches committed (advance).
   */
  private release(f: Tracked): void {
    this.handOver(f, f.reader.pos);
    this.dropHold(f);
    void this.closeFile(f);
    f.released = true;
    if (this.byPath.get(f.path) === f) this.byPath.delete(f.path);
    this.advance(f);
  }

  // ---- reading ---------------------------------------------------------------

  private order(): Tracked[] {
    const all = [...this.files.values()].filter((f) => !f.released);
    // rotated-away and deleted files first: finish the old file before the new one
    const away = all.filter((f) => !f.listed || f.deleted);
    const live = all.filter((f) => f.listed && !f.deleted);
    if (live.length > 0) {
      const s = this.roundStart++ % live.length;
      return [...away, ...live.slice(s), ...live.slice(0, s)];
    }
    return away;
  }

  private async readRound(): Promise<boolean> {
    const batchMax = this.batchMax;
    let progressed = false;
    this.backlog = false;
    this.roundLines = 0;
    for (const f of this.order()) {
      if (this.stopping || this.failing > 0) break;
      if (!f.hint || f.released) continue;
      // opening it looks for a truncation (observe); an open file is looked at before each batch below
      let opened = false;
      if (f.reader.fd === null) {
        if (!(await this.ensureOpen(f))) continue;
        opened = true;
      }
      let batches = 0;
      while (batches < this.opts.maxBatchCount && !this.stopping && this.failing === 0) {
        await this.slot();
        if (this.stopping || this.failing > 0) break;
        // a truncation seen before reading on, before each batch, not once a round: a copytruncate that regrew
        // the file past our offset while the batch before was read would be read from the middle of its new bytes.
        // Not `look()`: its extra await between this check and the read let the model test's in-process copytruncate
        // land in between (16 runs in 30 of a counterexample read a line twice)
        if (!opened && f.reader.fd !== null) {
          const st = fstatNow(f.reader.fd);
          if (st) await this.observe(f, st);
        }
        opened = false;
        const may = f.fresh || f.held ? this.mayRead(f) : true;
        if (may !== true) {
          if (!(await may)) {
            f.hint = false;
            break;
          }
          // the comparison awaited: look for a truncation again, right before the read
          await this.look(f);
        }
        const seq = f.changeSeq;
        // more unread than a synchronous read takes is a backlog: its batch will be full
        const lines = this.collector(f, batchMax, f.size - f.reader.readAt > SYNC_READ_MAX ? batchMax : 0);
        const before = f.reader.pos;
        const res = await f.reader.read(batchMax, lines.sink, f.size, MAX_BATCH_BYTES);
        f.lastRead = Date.now();
        this.syncReaderCounters(f);
        if (lines.count > 0 || f.reader.pos !== before) {
          f.fresh = false;
          if (judgeable(f.fp) && f.reader.fd !== null) {
            // from the bytes just read when the buffer still has them: a read(2) per batch was 1 % of a backlog's time
            const crc = markBefore(f.reader.fd, f.reader.pos, f.reader.bytesBefore(COPY_WINDOW));
            f.mark = crc === undefined ? undefined : { at: f.reader.pos, crc };
          }
          this.submit(f, lines.batch());
          progressed = true;
          f.lastChange = f.lastRead;
        }
        if (lines.count > 0) batches++;
        this.roundLines += lines.count;
        if (res.error) {
          this.counters.inc('EventReadFail');
          this.log.rateLimited('warn', `taildir-read:${f.path}`, `reading ${f.path} failed: ${res.error.message}`);
          f.hint = false;
          break;
        }
        if (res.eof) {
          if (f.changeSeq === seq) f.hint = false;
          if (f.reader.readAt > f.size) f.size = f.reader.readAt;
          break;
        }
      }
      if (f.hint) this.backlog = true;
    }
    return progressed;
  }

  private collector(f: Tracked, maxLines: number, expect = 0): BatchCollector {
    return new BatchCollector(f.headers, this.opts.byteOffsetHeader, maxLines, this.pool, this.asLines, expect);
  }

  private syncReaderCounters(f: Tracked): void {
    const r = f.reader;
    if (r.bytesRead) this.counters.inc('BytesRead', r.bytesRead);
    if (r.linesSplit) this.counters.inc('LinesSplit', r.linesSplit);
    if (r.linesTruncated) this.counters.inc('LinesTruncated', r.linesTruncated);
    r.bytesRead = r.linesSplit = r.linesTruncated = 0;
  }

  /** Get a descriptor for `f` within the budget, closing a caught-up idle file if needed. */
  private async ensureOpen(f: Tracked): Promise<boolean> {
    if (this.openCount >= this.opts.maxOpenFiles) {
      let victim: Tracked | undefined;
      for (const o of this.files.values()) {
        // only files we can open again by path: listed, not deleted, nothing buffered or hinted
        if (o === f || o.reader.fd === null || !o.listed || o.deleted || o.released || o.hint) continue;
        if (!victim || o.lastRead < victim.lastRead) victim = o;
      }
      if (!victim) return false;
      await this.closeFile(victim);
    }
    let fd: number;
    try {
      fd = await openRead(f.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.needList = true;
        if (!f.listed) this.forget(f, 'it vanished before it could be reopened');
      } else {
        this.counters.inc('EventReadFail');
        this.log.rateLimited('warn', `taildir-open:${f.path}`, `cannot open ${f.path}: ${(err as Error).message}`);
      }
      f.hint = false;
      return false;
    }
    const st = fstatNow(fd);
    if (!st || identityKey(st.dev, st.ino) !== f.key) {
      // the path holds another file now; the listing will pick it up as new
      await closeFd(fd);
      this.needList = true;
      f.hint = false;
      if (!f.listed) this.forget(f, 'it was replaced while closed');
      return false;
    }
    // the same file; if its first bytes changed it was truncated while closed, which observe takes in as it does
    // for an open file (its cut made, its held copies handed over, read again from its start)
    f.reader.fd = fd;
    this.openCount++;
    await this.observe(f, st);
    return true;
  }

  private async closeFile(f: Tracked): Promise<void> {
    if (f.reader.fd === null) return;
    this.openCount--;
    await f.reader.close();
  }

  // ---- channel ---------------------------------------------------------------

  private slot(): Promise<void> {
    if (this.inFlight < this.maxInFlight || this.stopping) return Promise.resolve();
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  /** Puts the batch (several may be in flight); its position counts once it and every earlier batch of the file committed. */
  private submit(f: Tracked, batch: SourceBatch): void {
    const entry: Pending = { gen: f.gen, end: f.reader.pos, done: false, mark: f.mark?.at === f.reader.pos ? f.mark.crc : undefined };
    f.queue.push(entry);
    const n = batchCount(batch);
    if (n === 0) {
      entry.done = true;
      this.advance(f);
      return;
    }
    this.inFlight++;
    this.counters.inc('EventReceivedCount', n);
    this.counters.inc('AppendBatchReceivedCount');
    const p = this.put(batch).then((ok) => {
      if (ok) {
        entry.done = true;
        this.counters.inc('EventAcceptedCount', n);
        this.counters.inc('AppendBatchAcceptedCount');
        this.advance(f);
      }
    }).finally(() => {
      releaseBatch(batch, this.pool);
      this.inFlight--;
      this.puts.delete(p);
      this.slotWaiters.shift()?.();
    });
    this.puts.add(p);
  }

  /** Retries a batch until the channel takes it (or the source stops); reading pauses meanwhile. */
  private async put(batch: SourceBatch): Promise<boolean> {
    let attempt = 0;
    try {
      for (;;) {
        try {
          await this.deps.processor.process(batch);
          return true;
        } catch (err) {
          this.counters.inc('ChannelWriteFail');
          if (attempt === 0) this.failing++;
          attempt++;
          const full = err instanceof ChannelFullError;
          this.log.rateLimited('warn', `taildir-put:${this.name}`,
            `${full ? 'channel is full' : 'channel put failed'} (${(err as Error).message}); pausing reading and retrying the batch of ${batchCount(batch)}`);
          if (this.stopping) return false;
          await this.sleep(Math.min(attempt * this.opts.backoffSleepIncrement, this.opts.maxBackoffSleep), false);
          if (this.stopping) return false;
        }
      }
    } finally {
      if (attempt > 0) {
        this.failing--;
        if (this.failing === 0) this.wakeAll();
      }
    }
  }

  private advance(f: Tracked): void {
    while (f.queue.length > 0 && f.queue[0].done) {
      const e = f.queue.shift()!;
      if (e.gen === f.gen && e.end !== f.committed) {
        f.committed = e.end;
        f.committedMark = e.mark;
        this.positionsChanged();
      }
      if (e.then) for (const fn of e.then) fn();
    }
    if (f.released && f.queue.length === 0 && this.files.get(f.key) === f) {
      this.files.delete(f.key);
      this.positionsChanged();
      // a new file may have been waiting for this inode's entry to go
      this.needList = true;
    }
  }

  // ---- idle files, finished files, positions ---------------------------------

  private async housekeeping(): Promise<void> {
    const now = Date.now();
    for (const f of [...this.files.values()]) {
      if (f.held) {
        this.keepHolding(f, now);
        continue;
      }
      if (f.released || f.hint) continue;
      const caughtUp = f.reader.readAt >= f.size;
      const idleFor = now - f.lastChange;
      if (caughtUp && (f.deleted || (!f.listed && idleFor >= this.opts.idleTimeout))) {
        // finished for good: its last partial line is delivered rather than lost, then it is let go
        const last = this.collector(f, 1);
        if (f.reader.flushPartial(last.sink) > 0) this.submit(f, last.batch());
        this.log.info(`${f.path}: ${f.deleted ? 'deleted' : 'rotated away'} and read to its end; released`);
        this.release(f);
      } else if (f.reader.fd !== null && f.listed && !f.deleted && caughtUp && idleFor >= this.opts.idleTimeout) {
        await this.closeFile(f);
      }
    }
    if (this.posDirty && now - this.lastPosWrite >= this.opts.writePosInterval) {
      this.lastPosWrite = now;
      this.writePositions().catch((err) => {
        this.log.rateLimited('error', `taildir-pos:${this.name}`, `cannot write positions to ${this.store.path}: ${(err as Error).message}`);
      });
    }
  }

  /**
   * Positions moved (a commit, a new file, a truncation): the durable write waits for housekeeping and
   * writePosInterval; the recent one (positions.ts) is made RECENT_POS_MS after the first change, by a timer, since
   * a commit comes while the loop may sleep for seconds. With more than 250 files, a tenth of a ms per file keeps the
   * JSON of thousands of them from costing more than a few per cent of a core.
   */
  private positionsChanged(): void {
    this.posDirty = true;
    if (this.recentTimer || this.stopping) return;
    this.recentTimer = setTimeout(() => {
      this.recentTimer = undefined;
      if (this.stopping || !this.posDirty) return;
      this.store.saveRecent(this.positionEntries()).catch((err) => {
        this.log.rateLimited('warn', `taildir-recent:${this.name}`, `cannot write positions to ${this.store.recentPath}: ${(err as Error).message}`);
      });
    }, Math.max(RECENT_POS_MS, this.files.size / 10));
  }

  private writePositions(force = false): Promise<void> {
    this.posDirty = false;
    return this.store.save(this.positionEntries(), force);
  }

  private positionEntries(): PositionEntry[] {
    const entries: PositionEntry[] = [];
    for (const f of this.files.values()) {
      entries.push({ inode: f.ino, pos: f.committed, file: f.path, dev: f.dev, fp: f.fp.fp, fpLen: f.fp.fpLen, mark: f.committedMark });
    }
    return entries;
  }

  private fileDetails(): { path: string; lag: number; offset: number; size: number; inode: number }[] {
    const out = [];
    for (const f of this.files.values()) {
      const size = Math.max(f.size, f.reader.readAt);
      // a copy held unread is not behind: its original is read in its place
      out.push({ path: f.path, lag: f.held ? 0 : Math.max(0, size - f.committed), offset: f.committed, size, inode: f.ino });
    }
    return out;
  }
}

function statP(path: string): Promise<Stats> {
  return new Promise((resolve, reject) => stat(path, (err, st) => (err ? reject(err) : resolve(st))));
}

/** For a start at the end of an existing file: the start of its last, still unfinished line (or the end). */
async function lineStartBefore(fd: number, size: number): Promise<number> {
  if (size === 0) return 0;
  const len = Math.min(size, 64 * 1024);
  const buf = Buffer.alloc(len);
  const n = await new Promise<number>((resolve, reject) => read(fd, buf, 0, len, size - len, (err, got) => (err ? reject(err) : resolve(got))));
  const nl = buf.subarray(0, n).lastIndexOf(0x0a);
  return nl < 0 ? size : size - len + nl + 1;
}

/**
 * The regular files this process's stdout and stderr go to (`> /var/log/flume.out 2>&1`, a service
 * manager's `append:`), by identity: the logger sink and the agent's log write there, so tailing them
 * would feed the agent its own output without end. A terminal or a pipe is not a file and is ignored.
 */
function outputFiles(): Set<string> {
  const keys = new Set<string>();
  for (const fd of [1, 2]) {
    try {
      const st = fstatSync(fd);
      if (st.isFile()) keys.add(identityKey(st.dev, st.ino));
    } catch {
      // closed: nothing goes there
    }
  }
  return keys;
}
