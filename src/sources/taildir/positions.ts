import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from '../../channels/file/crc32.ts';
import { mkdirp } from '../../core/mkdirp.ts';

/**
 * The position file. Flume's shape, so a file Apache Flume wrote is read:
 * `[{"inode":2496,"pos":1024,"file":"/var/log/app.log"}]`, plus our fields
 * `dev`, `fp` and `fpLen` (the identity fingerprint, see identity.ts) so a
 * position is never applied to a different file that got the same inode, and
 * `mark` (copies.ts) so a copy made before a truncation is read on, not again.
 *
 * Flume rewrites this file in place; a crash mid-write leaves it empty or
 * cut, and every file is then read again from 0. We write a temp file, fsync
 * it, rename it over the old one and fsync the directory: after a crash the
 * file is the old version or the new one, never a mix. The source only ever
 * hands us positions of lines the channel has committed.
 *
 * Between those durable writes (every writePosInterval, 3 s by default) the
 * newest positions go to `<file>.recent` (`saveRecent`) every few tens of
 * milliseconds, renamed into place but not fsync'ed: a process killed (kill
 * -9, an OOM kill, a crash) leaves it whole in the page cache, so a restart
 * repeats the batches that were in flight, not seconds of committed lines.
 * It names the durable file it follows (`base`, the CRC-32 of its text), and
 * `load` takes it only when it reads whole and the durable file is still that
 * one: a durable write since (ours, Apache Flume's on the same file, an
 * operator's edit or removal) makes it stale, and it is ignored; a durable
 * write also removes it. After a power loss it may be missing or cut (the
 * durable file is used) or an older version following the same durable file
 * (more lines are read again). Positions never run ahead of commits.
 */
export interface PositionEntry {
  inode: number;
  pos: number;
  file: string;
  dev?: number;
  fp?: string;
  fpLen?: number;
  /** CRC-32 of the 1 KiB before `pos` (copies.ts): a copy of the file made before it was truncated is known by it */
  mark?: number;
}

export interface LoadedPositions {
  /** false when there was no position file at all (a first start) */
  existed: boolean;
  entries: PositionEntry[];
  /** why entries could not be read (the file existed but was unusable), for the log */
  problem?: string;
}

function isEntry(v: unknown): v is PositionEntry {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return Number.isSafeInteger(o.inode) && Number.isSafeInteger(o.pos) && (o.pos as number) >= 0 && typeof o.file === 'string'
    && (o.dev === undefined || Number.isSafeInteger(o.dev))
    && (o.fp === undefined || typeof o.fp === 'string')
    && (o.fpLen === undefined || (Number.isSafeInteger(o.fpLen) && (o.fpLen as number) >= 0))
    && (o.mark === undefined || (Number.isSafeInteger(o.mark) && (o.mark as number) >= 0 && (o.mark as number) <= 0xffffffff));
}

export class PositionStore {
  private writing: Promise<void> = Promise.resolve();
  /** the durable file's text as read or last written: an unchanged list is not written again, and `.recent` names it as its base */
  private durableText = '';
  /** what `<file>.recent` holds ('' when there is none) */
  private lastRecent = '';

  constructor(readonly path: string) {}

  get recentPath(): string {
    return `${this.path}.recent`;
  }

  /** Every file the store writes (the agent must never tail them). */
  files(): string[] {
    return [this.path, `${this.path}.tmp`, this.recentPath, `${this.recentPath}.tmp`];
  }

  async load(): Promise<LoadedPositions> {
    const durable = await this.loadDurable();
    const recent = durable.existed ? await this.loadRecent() : undefined;
    // a recent file that follows this durable file reads whole: the durable one parsed too (it is what was written)
    return recent ? { existed: true, entries: recent } : durable;
  }

  /** `<file>.recent`, when it is there, reads whole and follows the durable file as it is (see the class comment). */
  private async loadRecent(): Promise<PositionEntry[] | undefined> {
    let text: string;
    try {
      text = await readFile(this.recentPath, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const o = JSON.parse(text) as { base?: unknown; entries?: unknown };
      if (o.base === baseOf(this.durableText) && Array.isArray(o.entries) && o.entries.every(isEntry)) {
        this.lastRecent = text;
        return o.entries;
      }
    } catch {
      // cut short
    }
    // stale or cut: gone, so that it cannot count again should the durable file ever read as its base once more
    await unlink(this.recentPath).catch(() => undefined);
    return undefined;
  }

  private async loadDurable(): Promise<LoadedPositions> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { existed: false, entries: [] };
      return { existed: true, entries: [], problem: `cannot read ${this.path}: ${(err as Error).message}` };
    }
    this.durableText = text;
    // Flume leaves the file empty when no file matched
    if (text.trim() === '') return { existed: true, entries: [] };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return { existed: true, entries: [], problem: `${this.path} is not valid JSON (${(err as Error).message}); files without a position are read from their start` };
    }
    if (!Array.isArray(parsed)) {
      return { existed: true, entries: [], problem: `${this.path} is not a JSON array; files without a position are read from their start` };
    }
    const entries = parsed.filter(isEntry);
    const bad = parsed.length - entries.length;
    return bad > 0
      ? { existed: true, entries, problem: `${this.path}: ${bad} malformed entries ignored` }
      : { existed: true, entries };
  }

  /**
   * Writes the entries atomically; concurrent calls are serialised and an unchanged list is not rewritten,
   * unless `force` (at stop: the file may have been removed since it was last written, with the state dir).
   */
  save(entries: readonly PositionEntry[], force = false): Promise<void> {
    const text = JSON.stringify(entries.map(orderKeys));
    return this.chain(async () => {
      if (text !== this.durableText || force) {
        await replaceFile(this.path, text, true);
        this.durableText = text;
      }
      // the durable file is the newest now
      if (this.lastRecent !== '') {
        await unlink(this.recentPath).catch(() => undefined);
        this.lastRecent = '';
      }
    });
  }

  /** Writes the entries to `<file>.recent`: renamed into place, not fsync'ed (see the class comment). */
  saveRecent(entries: readonly PositionEntry[]): Promise<void> {
    const list = JSON.stringify(entries.map(orderKeys));
    return this.chain(async () => {
      if (this.lastRecent === '' && list === this.durableText) return; // the durable file says as much
      const text = `{"base":"${baseOf(this.durableText)}","entries":${list}}`;
      if (text === this.lastRecent) return;
      await replaceFile(this.recentPath, text, false);
      this.lastRecent = text;
    });
  }

  /** Writes run one at a time, in call order; a failed write must not wedge later ones (the caller sees its own failure). */
  private chain(write: () => Promise<void>): Promise<void> {
    const next = this.writing.then(write);
    this.writing = next.catch(() => undefined);
    return next;
  }
}

/**
 * Writes `text` to `path` through `<path>.tmp` renamed over it, so a crash leaves the old file or the new one;
 * `durable`: the temp file is fsync'ed before the rename and the directory after it. A failed write removes the temp.
 */
async function replaceFile(path: string, text: string, durable: boolean): Promise<void> {
  const dir = dirname(path);
  await mkdirp(dir);
  const tmp = `${path}.tmp`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(text);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (durable) await fsyncDir(dir);
}

/** What `.recent` names the durable file by: the CRC-32 of its text. */
function baseOf(durableText: string): string {
  return crc32(Buffer.from(durableText)).toString(16).padStart(8, '0');
}

/** Flume reads `inode`, `pos`, `file`; keep them first and in that order. */
function orderKeys(e: PositionEntry): PositionEntry {
  const o: PositionEntry = { inode: e.inode, pos: e.pos, file: e.file };
  if (e.dev !== undefined) o.dev = e.dev;
  if (e.fp !== undefined) o.fp = e.fp;
  if (e.fpLen !== undefined) o.fpLen = e.fpLen;
  if (e.mark !== undefined) o.mark = e.mark;
  return o;
}

async function fsyncDir(dir: string): Promise<void> {
  // directories cannot be opened for fsync on every platform (Windows); the rename is still atomic there
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    /* best effort */
  } finally {
    await fh?.close();
  }
}
