/**
 * `mkdir -p` that always ends. Node's own `{ recursive: true }` (20.20)
 * loops forever, synchronously and ignoring signals, where mkdir(2) says
 * ENOENT under a parent that exists: `--data-dir /proc/x` hung the agent at
 * full CPU until `kill -9`. Here each missing level is made once, from the
 * top down; an error other than EEXIST (made meanwhile) is thrown as it is.
 */
import { mkdirSync, statSync, type Stats } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FlumeError } from './errors.ts';

export class NotADirectoryError extends FlumeError {
  constructor(readonly path: string) {
    super('NOT_A_DIRECTORY', `${path} is not a directory`);
  }
}

const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

/** Missing, for the walk up: absent, or under a file (ENOTDIR), which the walk then finds and names. */
const absent = (err: unknown): boolean => code(err) === 'ENOENT' || code(err) === 'ENOTDIR';

function statOrNot(d: string): Stats | undefined {
  try {
    return statSync(d);
  } catch (err) {
    if (absent(err)) return undefined;
    throw err;
  }
}

/** Whether `d` exists (`st`: its stats, or undefined); one that is not a directory is an error. */
function found(d: string, st: Stats | undefined): boolean {
  if (st && !st.isDirectory()) throw new NotADirectoryError(d);
  return st !== undefined;
}

export function mkdirpSync(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (found(d, statOrNot(d))) break;
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
    }
  }
}

export async function mkdirp(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (found(d, await stat(d).catch((err: unknown) => (absent(err) ? undefined : Promise.reject(err))))) break;
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
    }
  }
}
