import { createHash } from 'node:crypto';
import { read, readSync } from 'node:fs';

/**
 * Telling files apart. A path says nothing (rotation renames), and an inode is
 * not enough either: a deleted file's inode is handed to the next file
 * created, so a position keyed by inode alone would resume a new file at an
 * old offset. We pair device+inode with a fingerprint of the file's first
 * bytes: the hash of the first `min(size, FINGERPRINT_BYTES)` bytes and how
 * many bytes that covers. A file shorter than FINGERPRINT_BYTES has a short
 * fingerprint that grows as the file does; a candidate matches when its first
 * `fpLen` bytes hash the same. A fingerprint of 0 bytes matches anything,
 * which is harmless: it is only ever recorded with position 0.
 */
export const FINGERPRINT_BYTES = 1024;

export interface Fingerprint {
  /** hex sha1 of the first `fpLen` bytes ('' when fpLen is 0) */
  fp: string;
  fpLen: number;
}

export interface FileIdentity extends Fingerprint {
  dev: number;
  ino: number;
}

export const EMPTY_FINGERPRINT: Fingerprint = Object.freeze({ fp: '', fpLen: 0 });

export function identityKey(dev: number, ino: number): string {
  return `${dev}:${ino}`;
}

export function hashPrefix(bytes: Uint8Array): string {
  return bytes.length === 0 ? '' : createHash('sha1').update(bytes).digest('hex');
}

function preadAll(fd: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  return new Promise((resolve, reject) => {
    let got = 0;
    const step = (): void => {
      read(fd, buf, got, len - got, got, (err, n) => {
        if (err) return reject(err);
        got += n;
        if (n === 0 || got === len) resolve(buf.subarray(0, got));
        else step();
      });
    };
    step();
  });
}

/** The fingerprint of an open file of (at least) `size` bytes. */
export async function fingerprintOf(fd: number, size: number): Promise<Fingerprint> {
  const want = Math.min(size, FINGERPRINT_BYTES);
  if (want === 0) return EMPTY_FINGERPRINT;
  const head = await preadAll(fd, want);
  return { fp: hashPrefix(head), fpLen: head.length };
}

/** A fingerprint's answer for a file of `size` bytes before any read: decided (true, false), or undefined: read its head. */
function bySize(size: number, known: Fingerprint): boolean | undefined {
  if (known.fpLen === 0) return true;
  if (size < known.fpLen) return false;
  return undefined;
}

function headIs(head: Buffer, known: Fingerprint): boolean {
  return head.length === known.fpLen && hashPrefix(head) === known.fp;
}

/** `preadAll`, synchronously. */
function preadAllSync(fd: number, len: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * Does the open file still start with the bytes `known` was taken from?
 * False when it is now shorter than the fingerprint (truncated or replaced)
 * or its first bytes differ (a different file on a reused inode).
 */
export async function fingerprintMatches(fd: number, size: number, known: Fingerprint): Promise<boolean> {
  return bySize(size, known) ?? headIs(await preadAll(fd, known.fpLen), known);
}

/**
 * `fingerprintMatches` with a synchronous read: for a file the source has open
 * and reads on every change, whose first bytes are in the page cache. A
 * kilobyte from the cache costs microseconds; the asynchronous read's hand-off
 * to the thread pool cost more than the read, once per read round. (If memory
 * pressure evicted the file's first page, that one read waits on the disk,
 * and the page is cached again for the next.)
 */
export function fingerprintMatchesNow(fd: number, size: number, known: Fingerprint): boolean {
  return bySize(size, known) ?? headIs(preadAllSync(fd, known.fpLen), known);
}
