/**
 * Rebuilds the backlog from the segments (and the checkpoint when usable).
 *
 * Rules (docs/file-channel.md):
 * - A put batch is one Put frame: valid (CRC) means the whole batch is there.
 * - Invalid bytes after the last valid frame of the LAST segment are a write
 *   torn by a crash (never acknowledged): they are truncated away.
 * - Invalid bytes before a later valid frame are corruption: skipped, counted
 *   and reported with file and offset; the scan goes on. Two shapes of them
 *   are what a crash leaves and are reported as such (skipped, counted apart
 *   as CrashLeftoversSkipped): a hole of zeros (a write that had not reached
 *   the disk while a later one had), and a frame cut short at the end of a
 *   segment that is not the last (the log rolled, or a spare segment was made,
 *   before the crash). On storage that honours fsync neither can hold an
 *   acknowledged record: a cycle is acknowledged only once every earlier one
 *   landed. A write cut short part way (some bytes, then zeros) stays corrupt:
 *   nothing tells it apart from damage.
 * - A Take frame removes its spans from the backlog. Takes are always written
 *   after the events they take, so replaying whatever segments remain (after
 *   deletions) is always correct; the checkpoint only lets replay start later.
 */
import { ftruncateSync, openSync, closeSync, fsyncSync } from 'node:fs';
import { FlumeError } from '../../core/errors.ts';
import type { CheckpointData, Sample } from './checkpoint.ts';
import { FRAME_HEADER_SIZE, decodeTake, FORMAT_VERSION, FrameType, fmtPos, offOf, pos, PUT_FIRST_ENTRY, putCountOf, putTimeOf, segOf, type Range } from './framing.ts';
import { clipBelow, insertRange, subtractRange } from './ranges.ts';
import { CUT_SHORT, ScanBuffer, scanSegment } from './scan.ts';
import { listSegments, readSegmentHeader, type SegmentFile } from './segment.ts';
import { unlinkSync } from 'node:fs';

/** A sample of put times at most every this many bytes of log, so OldestEventAgeMs needs no per-event memory. */
export const SAMPLE_EVERY = 256 * 1024;
/** ... and at most this long apart in put time: OldestEventAgeMs is never more than this over the truth. */
export const SAMPLE_MS = 1000;

/*
 * Put-time samples, for OldestEventAgeMs. A sample [key, t] stands for a Put frame put at t, and its
 * key is where the PREVIOUS Put frame of the log ends (0 for the first one): the lowest position a
 * head can be at when that frame holds the first pending event. The head is a cursor, not an entry:
 * once a take has read a frame to its end it sits there, before any Take frames and segment
 * boundaries that come between that frame and the next Put frame. Keyed by the frame's own first
 * entry, as before, a head in that gap found the sample of an older frame, however old.
 *
 * The oldest pending event's put time is read as that of the last sample whose key is at or before
 * the head (sampledPutTime). That sample S belongs to the head event's frame H or to one before it,
 * and no frame after S up to H took a sample, so by takesSample tS <= tH < tS + SAMPLE_MS: the age
 * reported is never under the truth and less than SAMPLE_MS (1 s) over it. Sampling by bytes alone
 * kept one sample for as long as the next 256 KiB took to come: on a quiet host a channel that
 * drained and took one new line reported the age of a sample taken minutes or hours before. The
 * live channel (as puts land, in log order) and replay (scanning the same frames) apply one rule.
 */

/**
 * Whether a Put frame (keyed `key`, put at `putTime`) gets a sample, `last` being the latest one:
 * one every SAMPLE_EVERY bytes, one once SAMPLE_MS has passed since the last, one when the channel
 * was empty (so a channel that drained and refilled is exact), and one when the clock went back
 * (so the age is never understated). One comparison per put batch; at most a sample per second of
 * puts is kept while they are pending.
 */
export function takesSample(last: Sample | undefined, key: number, putTime: number, wasEmpty: boolean): boolean {
  return !last || wasEmpty || key - last[0] >= SAMPLE_EVERY || putTime - last[1] >= SAMPLE_MS || putTime < last[1];
}

/**
 * The put time the oldest event pending from `head` on is reported with: that of the last sample
 * keyed at or before the head. Samples are dropped only when a later one is keyed at or before the
 * earliest live position, so one always is; failing that (a checkpoint whose samples do not reach
 * back), the first sample is the best guess.
 */
export function sampledPutTime(samples: readonly Sample[], head: number): number | undefined {
  let t: number | undefined;
  for (const [key, at] of samples) {
    if (key <= head) t = at;
    else return t ?? at;
  }
  return t;
}

/**
 * Where the last Put frame before a checkpoint's `end` ends, the key of the next frame's sample.
 * Older checkpoints lack it (and keyed samples by first entry): `end` stands in.
 */
function putEndOf(ck: CheckpointData): number {
  const v = ck.putEnd;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= ck.end ? v : ck.end;
}

export class UnsupportedFormatError extends FlumeError {
  constructor(readonly path: string, version: number) {
    super('CHANNEL_FORMAT', `${path} was written by a newer flume-tail (format version ${version}, this one reads up to ${FORMAT_VERSION}); upgrade flume-tail or move the channel dirs away`);
  }
}

export interface ReplayProgress {
  bytesDone: number;
  bytesTotal: number;
  events: number;
}

export interface ReplayOptions {
  dataDirs: readonly string[];
  checkpoint?: CheckpointData;
  /** inspect/verify: never truncate or delete (the dirs may belong to a running agent). */
  readOnly: boolean;
  onProgress?(p: ReplayProgress): void;
  onCorrupt?(path: string, off: number, length: number, reason: string): void;
  /** Invalid bytes a crash left (see the rules above): skipped like corruption, but not damage. */
  onCrashLeftover?(path: string, off: number, length: number, reason: string): void;
  onTruncate?(path: string, off: number, length: number): void;
  onNote?(msg: string): void;
}

export interface SegmentInfo extends SegmentFile {
  headerSize: number;
  createdAt: number;
  /** the format version its header names (0: the header is damaged) */
  version: number;
}

export interface ReplayResult {
  segments: SegmentInfo[];
  /** Pending spans, sorted; the last one may end at `end` (the unread tail). */
  ranges: Range[];
  size: number;
  /** Position after the last sealed frame: where the next write goes in the last segment. */
  end: number;
  samples: Sample[];
  /** Where the last Put frame before `end` ends: the key of the next put's sample. */
  putEnd: number;
  usedCheckpoint: boolean;
  /** Why the checkpoint was not used, when one was given. */
  fullReplayReason?: string;
  corruptRegions: number;
  /** regions a crash left (holes of zeros, frames cut short at a rolled segment's end): skipped, not damage */
  crashLeftovers: number;
  truncatedBytes: number;
  bytesScanned: number;
  eventsReplayed: number;
}

export function replayLog(o: ReplayOptions): ReplayResult {
  const listed = listSegments(o.dataDirs, (p) => o.onNote?.(`duplicate segment id ignored: ${p}`));
  const segments: SegmentInfo[] = [];
  let corruptRegions = 0;
  let crashLeftovers = 0;
  for (const s of listed) {
    const h = readSegmentHeader(s.path);
    if (h.ok) {
      if (h.header.version > FORMAT_VERSION) throw new UnsupportedFormatError(s.path, h.header.version);
      segments.push({ ...s, headerSize: h.header.headerSize, createdAt: h.header.createdAt, version: h.header.version });
      continue;
    }
    const isLast = s === listed[listed.length - 1];
    if (isLast && s.size <= 40) {
      // a roll torn by a crash: the file exists but its header never reached the disk; it holds no data
      if (!o.readOnly) unlinkSync(s.path);
      o.onNote?.(`${s.path}: empty segment with an incomplete header${o.readOnly ? '' : ' removed'}`);
      continue;
    }
    corruptRegions++;
    o.onCorrupt?.(s.path, 0, 40, `segment header: ${h.reason}`);
    segments.push({ ...s, headerSize: 40, createdAt: 0, version: 0 });
  }

  let ranges: Range[] = [];
  let size = 0;
  let samples: Sample[] = [];
  let putEnd = 0;
  let startSeg = 0;
  let startOff = segments[0]?.headerSize ?? 0;
  let usedCheckpoint = false;
  let fullReplayReason: string | undefined;
  const ck = o.checkpoint;
  if (ck) {
    const seg = segments.findIndex((s) => s.id === segOf(ck.end));
    if (seg < 0) fullReplayReason = `checkpoint refers to segment ${segOf(ck.end)}, which is gone`;
    else if (segments[seg].size < offOf(ck.end)) fullReplayReason = `checkpoint position ${fmtPos(ck.end)} is past the end of ${segments[seg].path}`;
    else {
      usedCheckpoint = true;
      startSeg = seg;
      startOff = offOf(ck.end);
      ranges = ck.ranges.map((r) => ({ start: r.start, end: r.end }));
      if (segments.length) clipBelow(ranges, pos(segments[0].id, 0));
      size = ck.size;
      samples = ck.samples.slice();
      putEnd = putEndOf(ck);
    }
  }

  let bytesTotal = 0;
  for (let i = startSeg; i < segments.length; i++) bytesTotal += segments[i].size - (i === startSeg ? startOff : 0);
  let bytesDone = 0;
  let eventsReplayed = 0;
  let lastReport = Date.now();
  const progress = (n: number): void => {
    bytesDone += n;
    const now = Date.now();
    if (now - lastReport >= 1000) {
      lastReport = now;
      o.onProgress?.({ bytesDone, bytesTotal, events: eventsReplayed });
    }
  };

  let truncatedBytes = 0;
  const scanBuf = new ScanBuffer();
  let extendFrom = NaN; // the last range may grow over a new batch only if nothing but clean frames lie between
  let end = pos(segments[startSeg]?.id ?? 1, startOff);

  for (let i = startSeg; i < segments.length; i++) {
    const s = segments[i];
    const from = i === startSeg ? startOff : s.headerSize;
    const isLast = i === segments.length - 1;
    let sealEnd = from;
    const corrupt: { off: number; length: number; reason: string; crash: boolean }[] = [];
    const r = scanSegment(s.path, from, {
      frame(type, buf, at, _length, off, fend) {
        sealEnd = fend;
        if (type === FrameType.Put) {
          const frameAt = at - FRAME_HEADER_SIZE;
          const count = putCountOf(buf, frameAt);
          const key = putEnd;
          putEnd = pos(s.id, fend);
          if (count === 0) return;
          const putTime = putTimeOf(buf, frameAt);
          if (takesSample(samples[samples.length - 1], key, putTime, size === 0)) samples.push([key, putTime]);
          const piece = { start: pos(s.id, off + PUT_FIRST_ENTRY), end: pos(s.id, fend) };
          const last = ranges[ranges.length - 1];
          if (last && last.end === extendFrom && piece.start >= extendFrom) last.end = piece.end;
          else insertRange(ranges, piece);
          extendFrom = ranges[ranges.length - 1].end;
          size += count;
          eventsReplayed += count;
        } else if (type === FrameType.Take) {
          const t = decodeTake(buf, at);
          for (const r of t.ranges) subtractRange(ranges, r);
          size = Math.max(0, size - t.count);
        }
        // unknown frame types (a later minor format) are skipped: their CRC proved them whole
      },
      corrupt(off, length, reason, unwritten) {
        corrupt.push({ off, length, reason, crash: unwritten });
        extendFrom = NaN;
      },
    }, progress, scanBuf);
    if (r.trailing && !isLast) {
      corrupt.push({ ...r.trailing, crash: leftByCrash(r.trailing) });
      // a pending range must not run on over these bytes into the next segment: a take would walk into them
      extendFrom = NaN;
    }
    if (isLast) {
      const tornLen = r.fileSize - sealEnd;
      if (tornLen > 0) {
        truncatedBytes += tornLen;
        o.onTruncate?.(s.path, sealEnd, tornLen);
        if (!o.readOnly) {
          const fd = openSync(s.path, 'r+');
          try {
            ftruncateSync(fd, sealEnd);
            fsyncSync(fd);
          } finally {
            closeSync(fd);
          }
          s.size = sealEnd;
        }
      }
      end = pos(s.id, sealEnd);
    }
    for (const c of corrupt) {
      if (isLast && c.off >= sealEnd) continue; // part of the torn tail
      if (c.crash) {
        crashLeftovers++;
        o.onCrashLeftover?.(s.path, c.off, c.length, c.reason);
        continue;
      }
      corruptRegions++;
      o.onCorrupt?.(s.path, c.off, c.length, c.reason);
    }
  }
  o.onProgress?.({ bytesDone: bytesTotal, bytesTotal, events: eventsReplayed });

  // drop put-time samples that only describe consumed data (keep the last one keyed at or before the head)
  const head = ranges.length ? ranges[0].start : end;
  let k = 0;
  while (k + 1 < samples.length && samples[k + 1][0] <= head) k++;
  samples = samples.slice(k);

  return {
    segments,
    ranges,
    size,
    end,
    samples,
    putEnd,
    usedCheckpoint,
    ...(fullReplayReason ? { fullReplayReason } : {}),
    corruptRegions,
    crashLeftovers,
    truncatedBytes,
    bytesScanned: bytesDone,
    eventsReplayed,
  };
}

/**
 * Invalid bytes running to the end of a segment that is not the last: what a crash leaves when it cut
 * short a write to a segment after which another exists (one the cycle rolled to, or the spare made
 * ahead) — zeros, or a frame the file ends inside — and otherwise damage. The last segment's are a
 * torn tail, truncated at start (replayLog).
 */
export function leftByCrash(trailing: { reason: string; unwritten: boolean }): boolean {
  return trailing.unwritten || CUT_SHORT.has(trailing.reason);
}
