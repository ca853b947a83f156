import { readSync } from 'node:fs';
import { crc32 } from '../../channels/file/crc32.ts';
import { FINGERPRINT_BYTES, type Fingerprint } from './identity.ts';

/**
 * Telling a copy from a new file. logrotate's copytruncate copies `app.log`
 * to `app.log.1` and truncates `app.log`; to identity (device, inode, first
 * bytes) the copy is a new file, and a tailer whose paths take it sends every
 * line of it a second time. A copy is known by its bytes: its first
 * FINGERPRINT_BYTES are the original's, and so are the COPY_WINDOW bytes
 * before a given offset. Two files that share both (the same first kilobyte,
 * and the same kilobyte before the offset where the other was read to) hold
 * the same log; only files of at least FINGERPRINT_BYTES are judged, so a
 * short banner two logs share is not enough.
 *
 * The source (source.ts) uses this two ways:
 * - the copy is found while the original is still whole (logrotate makes the
 *   copy first): the copy's bytes, up to its own end, are compared with the
 *   original's. While they agree the copy is held unread; when the original
 *   is truncated (or deleted), the copy is read on from where the original
 *   was read to. If the two ever differ, the copy was a file of its own after
 *   all and is read from its start: holding it loses nothing.
 * - the original was truncated first (or while the agent was stopped): its
 *   last `Cut` (first bytes, how far it was read, the mark of the bytes
 *   before that) is what a new file is compared with.
 */
export const COPY_WINDOW = 1024;

/** A file's content as it was when it was truncated: what a copy of it must show. */
export interface Cut {
  fp: Fingerprint;
  /** how far the file had been read (or committed, for a cut from the position file) */
  end: number;
  /** markBefore(end) of the file before it was truncated */
  mark: number;
  /** when it was seen: a cut is a copy's evidence for CUT_MS only */
  at: number;
}

/** How long after a truncation a new file can be found to be the truncated file's copy (the source's copyWindow). */
export const CUT_MS = 60_000;

/** The COPY_WINDOW bytes of an open file before `at`, or undefined when it holds fewer (or cannot be read). */
function windowBefore(fd: number, at: number): Buffer | undefined {
  if (at < COPY_WINDOW) return undefined;
  const buf = Buffer.allocUnsafe(COPY_WINDOW);
  let got = 0;
  try {
    // synchronous: the bytes just read (or compared) are in the page cache, as for fingerprintMatchesNow
    while (got < COPY_WINDOW) {
      const n = readSync(fd, buf, got, COPY_WINDOW - got, at - COPY_WINDOW + got);
      if (n === 0) return undefined;
      got += n;
    }
  } catch {
    return undefined;
  }
  return buf;
}

/**
 * A checksum of the COPY_WINDOW bytes before `at` (undefined if the file has fewer): kept, where the bytes are not.
 * `inHand`: those bytes, when the caller still holds them as it read them (no read(2) then).
 */
export function markBefore(fd: number, at: number, inHand?: Uint8Array): number | undefined {
  const w = inHand ?? windowBefore(fd, at);
  return w && crc32(w);
}

/** What a file held when it was truncated at `end` (read or committed that far), if a copy of it can be judged by it. */
export function cutAt(fp: Fingerprint, end: number, mark: number | undefined): Cut | undefined {
  return mark !== undefined && judgeable(fp) ? { fp, end, mark, at: Date.now() } : undefined;
}

/** Do two open files hold the same COPY_WINDOW bytes before `at`? */
export function sameBefore(a: number, b: number, at: number): boolean {
  const wa = windowBefore(a, at);
  const wb = wa && windowBefore(b, at);
  return wa !== undefined && wb !== undefined && wa.equals(wb);
}

/** Can a file with this fingerprint be judged a copy at all (a full first kilobyte)? */
export function judgeable(fp: Fingerprint): boolean {
  return fp.fpLen === FINGERPRINT_BYTES;
}
