import { realpathSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import type { Logger } from '../../core/log.ts';
import { DirWatches } from './dir-watch.ts';

/**
 * Finding the files to tail. Two ways of saying which:
 *
 * - Flume's file groups: an absolute path whose directory part is literal and
 *   whose file-name part is a regex matched against the whole name.
 * - `paths`: a directory (every regular file under it, recursively), a file,
 *   or a glob (we walk the glob's literal base and match with picomatch).
 *   Default exclusions (compressed archives, binary login records, systemd
 *   journals) and `exclude` globs filter these.
 *
 * `list()` walks the file system and is the truth; a watch on each
 * directory it walked (dir-watch.ts) only tells us early that something
 * changed, so a missed event (inotify limits) costs latency, never a file.
 */
export interface FileGroup {
  name: string;
  /** the literal directory */
  dir: string;
  /** matches a whole file name */
  regex: RegExp;
}

export interface DiscoveryOptions {
  groups: readonly FileGroup[];
  paths: readonly string[];
  exclude: readonly string[];
  defaultExcludes: boolean;
}

/** path → the file group it matched (null for `paths`) */
export type Listing = Map<string, string | null>;

/** `change`: a listed file's content; `rename`: an entry appeared, vanished or was renamed (list again). */
export type WatchEvent = 'rename' | 'change';

const DEFAULT_EXCLUDES: readonly ((path: string, name: string) => boolean)[] = [
  // compressed archives written by logrotate and friends
  (_p, n) => /\.(gz|xz|bz2|zip|zst|lz4|lzma|7z)$/i.test(n),
  // binary login records
  (_p, n) => /^(wtmp|btmp|lastlog|faillog|utmp)([.-]|$)/.test(n),
  // systemd journal files
  (_p, n) => /\.journal~?$/.test(n),
];

interface Root {
  /** directory to walk and watch */
  base: string;
  /** how deep to walk below base (Infinity = recursive) */
  depth: number;
  accept: (path: string, name: string) => boolean;
  group: string | null;
  /** `paths` roots are filtered by the exclusions, file groups are Flume's regexes as written */
  filtered: boolean;
  /** a single literal file */
  file?: string;
}

function hasGlob(p: string): boolean {
  return /[*?[\]{}()!]/.test(p);
}

export class Discovery {
  private readonly roots: Root[] = [];
  private readonly excluded: ((path: string, name: string) => boolean)[] = [];
  private watches?: DirWatches;
  /** the directories the last listing walked, and where missing roots would appear (with the names that matter there) */
  private dirs = new Map<string, Set<string> | undefined>();

  constructor(opts: DiscoveryOptions, private readonly log: Logger) {
    for (const g of opts.groups) {
      const re = new RegExp(`^(?:${g.regex.source})$`, g.regex.flags);
      this.roots.push({ base: g.dir, depth: 0, accept: (_p, n) => re.test(n), group: g.name, filtered: false });
    }
    for (const raw of opts.paths) {
      const p = resolve(raw);
      if (hasGlob(raw)) {
        const scan = picomatch.scan(p);
        const isMatch = picomatch(p, { dot: true });
        const depth = scan.glob.includes('**') ? Infinity : scan.glob.split('/').length - 1;
        this.roots.push({ base: scan.base || sep, depth, accept: (path) => isMatch(path), group: null, filtered: true });
      } else {
        // a directory or a file: decided when walking (it may not exist yet)
        this.roots.push({ base: p, depth: Infinity, accept: () => true, group: null, filtered: true, file: p });
      }
    }
    if (opts.defaultExcludes) this.excluded.push(...DEFAULT_EXCLUDES);
    for (const g of opts.exclude) {
      const m = picomatch(isAbsolute(g) ? resolve(g) : g, { dot: true, basename: !g.includes('/') });
      this.excluded.push((path) => m(path));
    }
  }

  /** what the agent itself writes (WritesFiles): directories with everything under them, and files; as given and with symlinks resolved */
  private avoided: string[] = [];
  /** each root's base with symlinks resolved, where that differs (walked paths are spelled from the base as given) */
  private realBases = new Map<string, string>();

  /**
   * Never lists, reads or watches these paths, whatever the roots and
   * excludes say: the agent's own channel, positions, output. A tailer that
   * reads what it writes feeds on itself. Compared with symlinks resolved
   * too, so a data dir reached through a symlinked root (or home) is still
   * recognised.
   */
  avoid(paths: readonly string[]): void {
    this.avoided = [...new Set(paths.flatMap((p) => [resolve(p), realish(p)]))];
    this.resolveBases();
    for (const r of this.roots) {
      if (this.isAvoided(r.base)) this.log.warn(`${r.base} is where the agent writes its own files (channel, positions, output): nothing under it is tailed`);
    }
  }

  private resolveBases(): void {
    this.realBases.clear();
    for (const r of this.roots) {
      const real = realish(r.base);
      if (real !== r.base) this.realBases.set(r.base, real);
    }
  }

  private isAvoided(path: string): boolean {
    if (underAny(path, this.avoided)) return true;
    for (const [base, real] of this.realBases) {
      if (isUnder(path, base) && underAny(real + path.slice(base.length), this.avoided)) return true;
    }
    return false;
  }

  private isExcluded(path: string, filtered: boolean): boolean {
    if (this.isAvoided(path)) return true;
    if (!filtered) return false;
    const name = basename(path);
    return this.excluded.some((f) => f(path, name));
  }

  /** Every regular file that matches now. The first root that matches a path names its group. */
  async list(): Promise<Listing> {
    // a root may have appeared (or its symlink changed) since the last listing
    if (this.avoided.length > 0) this.resolveBases();
    const out: Listing = new Map();
    const dirs = new Map<string, Set<string> | undefined>();
    for (const root of this.roots) {
      if (root.file !== undefined) {
        let st;
        try {
          st = await stat(root.file);
        } catch {
          // not there (yet): watched for where it would appear
          await this.watchFor(root.file, dirs);
          continue;
        }
        if (st.isFile()) {
          // its directory, for that name (its renames; a rotation makes a new file under it)
          watchName(dirs, dirname(root.file), basename(root.file));
          if (!out.has(root.file) && !this.isExcluded(root.file, root.filtered)) out.set(root.file, root.group);
          continue;
        }
        if (!st.isDirectory()) continue;
      }
      if (!(await this.walk(root, root.base, 0, out, dirs))) await this.watchFor(root.base, dirs);
    }
    this.dirs = dirs;
    this.watches?.sync(dirs);
    return out;
  }

  /**
   * Watches for `path` to appear: its nearest existing ancestor, for the
   * name of the next step down (a directory already watched whole stays so).
   */
  private async watchFor(path: string, dirs: Map<string, Set<string> | undefined>): Promise<void> {
    let child = resolve(path);
    for (let d = dirname(child); ; child = d, d = dirname(d)) {
      const st = await stat(d).catch(() => undefined);
      if (st?.isDirectory()) {
        if (!this.isAvoided(d)) watchName(dirs, d, basename(child));
        return;
      }
      if (dirname(d) === d) return;
    }
  }

  /** Lists `dir` (and below, to the root's depth) into `out`; false if it could not be read. */
  private async walk(root: Root, dir: string, depth: number, out: Listing, dirs: Map<string, Set<string> | undefined>): Promise<boolean> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        this.log.rateLimited('warn', `taildir-readdir:${dir}`, `cannot list ${dir}: ${(err as Error).message}`);
      }
      return false;
    }
    // watched whole, whatever names were asked for there
    dirs.set(dir, undefined);
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        // symlinked directories are not followed (loops); only real subdirectories
        if (depth < root.depth && !this.isAvoided(path)) await this.walk(root, path, depth + 1, out, dirs);
        continue;
      }
      let regular = e.isFile();
      if (!regular && e.isSymbolicLink()) {
        try {
          regular = (await stat(path)).isFile();
        } catch {
          regular = false;
        }
      }
      if (!regular || out.has(path)) continue;
      if (!root.accept(path, e.name) || this.isExcluded(path, root.filtered)) continue;
      out.set(path, root.group);
    }
    return true;
  }

  /**
   * Start watching the directories listings walk; `onEvent` is called for
   * file-system activity there (a hint, not the truth): an entry renamed,
   * made or removed, or a change to a file's content.
   */
  watch(onEvent: (kind: WatchEvent, path: string) => void): void {
    this.watches?.close();
    // the agent's own files may lie in a watched directory (a positions file beside the logs): their writes, every
    // few tens of ms, are no activity of the logs' and would make a listing each
    this.watches = new DirWatches((kind, path) => {
      if (!this.isAvoided(path)) onEvent(kind, path);
    }, this.log);
    this.watches.sync(this.dirs);
  }

  /** The directories a file group names, for the check that they exist. */
  groupDirs(): string[] {
    return this.roots.filter((r) => r.group !== null).map((r) => r.base);
  }

  async close(): Promise<void> {
    this.watches?.close();
    this.watches = undefined;
  }
}

/** Adds `name` to the names watched in `dir`, unless `dir` is watched whole. */
function watchName(dirs: Map<string, Set<string> | undefined>, dir: string, name: string): void {
  const names = dirs.get(dir);
  if (names) names.add(name);
  else if (!dirs.has(dir)) dirs.set(dir, new Set([name]));
}

/** True when `path` is `dir` or lies under it. */
function isUnder(path: string, dir: string): boolean {
  return path === dir || (path.startsWith(dir) && (path[dir.length] === sep || dir === sep));
}

/** True when `path` is one of `dirs` or lies under one. */
function underAny(path: string, dirs: readonly string[]): boolean {
  for (const d of dirs) if (isUnder(path, d)) return true;
  return false;
}

/** `p` with symlinks resolved as far as it exists, the rest appended: what it names, however it is spelled. */
function realish(p: string): string {
  const rest: string[] = [];
  let cur = resolve(p);
  for (;;) {
    try {
      return join(realpathSync(cur), ...rest);
    } catch {
      const up = dirname(cur);
      if (up === cur) return resolve(p);
      rest.unshift(basename(cur));
      cur = up;
    }
  }
}

/** Splits Flume's `filegroups.<g>` value into its literal directory and file-name regex. */
export function parseFileGroupPath(value: string): { dir: string; regex: RegExp } | { error: string } {
  if (!isAbsolute(value)) return { error: 'an absolute path' };
  const dir = dirname(value);
  const name = basename(value);
  if (name === '') return { error: 'a path ending in a file name (or a regex over file names)' };
  try {
    return { dir, regex: new RegExp(name) };
  } catch (err) {
    return { error: `a valid regex as file-name part (${(err as Error).message})` };
  }
}
