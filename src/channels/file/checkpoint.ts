/**
 * The checkpoint: a snapshot of the backlog (spans of the log still pending,
 * their count, put-time samples) as of a log position. It only bounds replay
 * time: replay starts at `end` instead of the first segment. A missing, torn or
 * corrupt checkpoint means a full replay, never a loss, because the segments
 * alone always describe the backlog.
 *
 * File: one header line `FTCKPT <version> <crc32 hex of the body> <body bytes>\n`, then a JSON body.
 * Written atomically: temp file, fsync, rename over, fsync the dir.
 */
import { readFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from './crc32.ts';
import type { Range } from './framing.ts';
import { fsyncDirAsync, writeSynced } from './segment.ts';

export const CHECKPOINT_FILE = 'checkpoint';
export const CHECKPOINT_VERSION = 1;

/** A put-time sample: the event at log position `pos` was put at `t` (epoch ms). */
export type Sample = [pos: number, t: number];

export interface CheckpointData {
  version: number;
  /** epoch ms when written */
  writtenAt: number;
  /** Log position up to which the snapshot is complete; replay continues from here. */
  end: number;
  /** Events pending (not committed as taken) at `end`. */
  size: number;
  ranges: Range[];
  samples: Sample[];
  /**
   * Where the last Put frame before `end` ends: the key of the next frame's
   * put-time sample (replay.ts). Absent in checkpoints of older builds.
   */
  putEnd?: number;
}

export type CheckpointRead =
  | { status: 'ok'; data: CheckpointData }
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string };

export function readCheckpoint(dir: string): CheckpointRead {
  let raw: Buffer;
  try {
    raw = readFileSync(join(dir, CHECKPOINT_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    return { status: 'corrupt', reason: (err as Error).message };
  }
  const nl = raw.indexOf(10);
  if (nl < 0) return { status: 'corrupt', reason: 'no header line' };
  const m = /^FTCKPT (\d+) ([0-9a-f]{8}) (\d+)$/.exec(raw.toString('latin1', 0, nl));
  if (!m) return { status: 'corrupt', reason: 'bad header line' };
  const version = Number(m[1]);
  if (version > CHECKPOINT_VERSION) return { status: 'corrupt', reason: `written by a newer version (${version})` };
  const body = raw.subarray(nl + 1);
  if (body.length !== Number(m[3])) return { status: 'corrupt', reason: `body is ${body.length} bytes, header says ${m[3]}` };
  if (crc32(body).toString(16).padStart(8, '0') !== m[2]) return { status: 'corrupt', reason: 'checksum mismatch' };
  try {
    const d = JSON.parse(body.toString('utf8')) as CheckpointData;
    const num = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0;
    if (!num(d.end) || !num(d.size) || !num(d.writtenAt) || !Array.isArray(d.ranges) || !Array.isArray(d.samples)) {
      return { status: 'corrupt', reason: 'missing fields' };
    }
    for (const r of d.ranges) if (!num(r?.start) || !num(r?.end) || r.end < r.start) return { status: 'corrupt', reason: 'bad range' };
    return { status: 'ok', data: { ...d, version } };
  } catch (err) {
    return { status: 'corrupt', reason: `bad JSON: ${(err as Error).message}` };
  }
}

export function encodeCheckpoint(d: CheckpointData): Buffer {
  const body = Buffer.from(JSON.stringify(d), 'utf8');
  const head = `FTCKPT ${CHECKPOINT_VERSION} ${crc32(body).toString(16).padStart(8, '0')} ${body.length}\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** Writes the checkpoint atomically (temp + fsync + rename + dir fsync). */
export async function writeCheckpoint(dir: string, d: CheckpointData): Promise<void> {
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  await writeSynced(tmp, encodeCheckpoint(d), 'w');
  await rename(tmp, join(dir, CHECKPOINT_FILE));
  await fsyncDirAsync(dir);
}
