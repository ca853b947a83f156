/**
 * The dead-letter directory: a batch the receiver rejected for good (a 4xx the
 * policy commits without success) is written here instead of vanishing.
 *
 * One file per rejected request, named `<sink>-<epoch ms>-<seq>-<status>.ndjson`,
 * holding the events as ndjson lines (the same `{"headers":…,"body":…}` /
 * `"body_base64"` objects as `format = ndjson`), whatever the sink's format,
 * so headers survive and the file can be replayed. Written to a temp name,
 * fsynced, then renamed: a reader never sees half a file. If the write fails
 * the caller rolls the batch back rather than lose it.
 */
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import type { FlumeEvent } from '../../core/event.ts';
import { encodeBatch } from './encode.ts';
import { mkdirp } from '../../core/mkdirp.ts';

export class DeadLetterDir {
  private seq = 0;

  constructor(readonly dir: string, private readonly sink: string) {}

  /** Writes the events; resolves with the file's path once it is durable. */
  async write(events: readonly FlumeEvent[], status: number): Promise<string> {
    await mkdirp(this.dir);
    const base = `${safeName(this.sink)}-${Date.now()}-${++this.seq}-${status}.ndjson`;
    const path = join(this.dir, base);
    const tmp = join(this.dir, `.${base}.tmp`);
    const body = encodeBatch(events, 'ndjson', Infinity)[0]?.body ?? Buffer.alloc(0);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    // the rename itself must survive a crash: the channel commits these events next
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } catch {
      // some platforms cannot fsync a directory; the file itself is synced
    } finally {
      await dir.close();
    }
    return path;
  }
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}
