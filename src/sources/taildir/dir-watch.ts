import { watch, type FSWatcher } from 'node:fs';
import { basename, join } from 'node:path';
import type { Logger } from '../../core/log.ts';

/** What a directory watch reports: a name appeared, vanished or was renamed ('rename'), or a file's content changed. */
export type DirEvent = 'rename' | 'change';

/**
 * One `fs.watch` per directory a listing walked, reporting which entry changed
 * and how, and nothing more: no listing, no stat. That is all discovery needs
 * from a watch, since the listing itself is the truth (Discovery.list).
 *
 * It replaced chokidar, which re-read a watched directory (readdir, and lstat
 * of every entry) on every event in it, and an append is an event: an
 * application writing its log a line at a time, 1,000 times a second, in a
 * directory of 51 files, cost the agent 14.4 s of CPU per 10 s under Node,
 * and a single-file directory 12 s under Deno (BENCHMARKS.md).
 */
export class DirWatches {
  private readonly watches = new Map<string, { w: FSWatcher; only?: ReadonlySet<string> }>();
  private closed = false;

  constructor(private readonly onEvent: (kind: DirEvent, path: string) => void, private readonly log: Logger) {}

  /**
   * Watches exactly these directories (and stops watching the rest). A
   * directory given with `only` names reports renames of those names (and
   * every content change: a file it names may have been renamed within it).
   */
  sync(dirs: ReadonlyMap<string, ReadonlySet<string> | undefined>): void {
    if (this.closed) return;
    for (const [dir, entry] of this.watches) {
      if (!dirs.has(dir) || !sameNames(dirs.get(dir), entry.only)) this.unwatch(dir);
    }
    for (const [dir, only] of dirs) if (!this.watches.has(dir)) this.add(dir, only);
  }

  private add(dir: string, only: ReadonlySet<string> | undefined): void {
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: false }, (kind, name) => {
        if (name === null || name === undefined) {
          // the runtime could not say which entry: something in the directory changed
          this.onEvent('rename', dir);
          return;
        }
        const file = String(name);
        if (kind === 'change') {
          this.onEvent('change', join(dir, file));
          return;
        }
        if (file === basename(dir)) {
          // the directory itself was removed or renamed (no runtime says so with an error): a watch kept would
          // stay silent even once a directory of that name is back; the next listing watches what is there
          this.unwatch(dir);
          this.onEvent('rename', dir);
          return;
        }
        if (only === undefined || only.has(file)) this.onEvent('rename', join(dir, file));
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // gone since the listing: the next listing no longer has it
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        this.log.rateLimited('warn', `taildir-watch:${dir}`, `cannot watch ${dir} (${(err as Error).message}): changes there are found by the periodic listing`);
      }
      return;
    }
    // a watched directory removed (or a watch the system dropped): the listing after says what is there now
    w.on('error', () => {
      this.unwatch(dir);
      this.onEvent('rename', dir);
    });
    this.watches.set(dir, { w, only });
  }

  private unwatch(dir: string): void {
    const e = this.watches.get(dir);
    if (!e) return;
    this.watches.delete(dir);
    try {
      e.w.close();
    } catch {
      // already closed by its error
    }
  }

  close(): void {
    this.closed = true;
    for (const dir of [...this.watches.keys()]) this.unwatch(dir);
  }
}

function sameNames(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.size !== b.size) return false;
  for (const n of a) if (!b.has(n)) return false;
  return true;
}
