import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, cpSync, rmSync, existsSync, openSync, readdirSync, readFileSync, closeSync, writeSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileChannel, type FileChannelOptions } from '../src/channels/file/file-channel.ts';
import { inspectChannel, verifyChannel, formatVerify, formatInspect } from '../src/channels/file/inspect.ts';
import { DELETE_STEP, removeSegmentFile } from '../src/channels/file/segment.ts';
import { SCAN_CHUNK, scanSegment, SegmentShrankError } from '../src/channels/file/scan.ts';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import { crc32 } from '../src/channels/file/crc32.ts';
import { FORMAT_VERSION } from '../src/channels/file/framing.ts';
import { Logger } from '../src/core/log.ts';
import { tempDir, until } from './helpers/poll.ts';

const lines: string[] = [];
const log = new Logger({ write: (l) => lines.push(l) }, 'debug');

function open(stateDir: string, o: Partial<FileChannelOptions> = {}): FileChannel {
  return new FileChannel(
    { capacity: 100_000, transactionCapacity: 1000, checkpointIntervalMs: 60_000, maxFileSize: 1 << 20, minimumRequiredSpace: 0, keepAliveMs: 0, checkpointOnClose: true, ...o },
    { name: 'c1', log, stateDir },
  );
}
const ev = (from: number, n: number): FlumeEvent[] => Array.from({ length: n }, (_, i) => eventOf(`event ${from + i}`));
const text = (es: FlumeEvent[]): string[] => es.map((e) => Buffer.from(e.body).toString());
const range = (a: number, b: number): string[] => Array.from({ length: b - a }, (_, i) => `event ${a + i}`);

async function drain(ch: FileChannel): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const t = await ch.take(1000);
    if (!t.events.length) return out;
    out.push(...text(t.events));
    await t.commit();
  }
}

function segments(ch: FileChannel): string[] {
  return readdirSync(ch.dataDirs[0]).filter((n) => n.endsWith('.wal')).sort().map((n) => join(ch.dataDirs[0], n));
}

test('a torn record at the tail of the last segment is truncated away; acknowledged puts survive', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ch = open(dir, { checkpointOnClose: false });
    await ch.start();
    await ch.put(ev(0, 10));
    await ch.stop();
    const seg = segments(ch).at(-1)!;
    const good = statSync(seg).size;
    // half of an event frame, as a crash mid-write leaves it
    appendFileSync(seg, Buffer.from([0x11, 0x22, 0x33, 0x44, 0x7e, 0xf1, 1, 0, 200, 0, 0, 0, 9, 9, 9]));
    const v = await verifyChannel(join(dir, 'channels', 'c1'));
    assert.is(v.corrupt.length, 0, 'a torn tail is not corruption');
    assert.ok(v.tornTail);
    const again = open(dir);
    await again.start();
    assert.is(statSync(seg).size, good);
    assert.equal(await drain(again), range(0, 10));
    await again.stop();
    assert.ok(lines.some((l) => l.includes('torn tail')));
  } finally {
    cleanup();
  }
});

test('a corrupt record (one put batch) in the middle is skipped, counted and reported with file and offset; the rest is delivered', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ch = open(dir, { checkpointOnClose: false });
    await ch.start();
    await ch.put(ev(0, 2));
    await ch.put(ev(2, 1));
    await ch.put(ev(3, 7));
    await ch.stop();
    const seg = segments(ch)[0];
    const bytes = readFileSync(seg);
    const at = bytes.indexOf(Buffer.from('event 2'));
    const fd = openSync(seg, 'r+');
    writeSync(fd, Buffer.from('X'), 0, 1, at + 3);
    closeSync(fd);
    const v = await verifyChannel(join(dir, 'channels', 'c1', 'data'));
    assert.is(v.corrupt.length, 1);
    assert.is(v.corrupt[0].file, seg);
    assert.ok(v.corrupt[0].offset < at && v.corrupt[0].offset + v.corrupt[0].length > at);
    assert.match(formatVerify(v), 'CORRUPT');
    const again = open(dir);
    await again.start();
    assert.is(again.counters.get('CorruptRecordsSkipped'), 1);
    assert.equal(await drain(again), [...range(0, 2), ...range(3, 10)]);
    await again.stop();
    assert.ok(lines.some((l) => l.includes(seg) && l.includes('offset')));
  } finally {
    cleanup();
  }
});

test('a record corrupted on disk after start is skipped at take time, counted, and the channel keeps running', async () => {
  const { dir, cleanup } = tempDir();
  const ch = open(dir);
  try {
    await ch.start();
    for (let i = 0; i < 5; i++) await ch.put(ev(i, 1));
    const seg = segments(ch)[0];
    const at = readFileSync(seg).indexOf(Buffer.from('event 3'));
    const fd = openSync(seg, 'r+');
    writeSync(fd, Buffer.from('Z'), 0, 1, at);
    closeSync(fd);
    // fresh records are served from memory; push them out so the take reads the disk
    await ch.put(Array.from({ length: 5 }, () => eventOf(Buffer.alloc(1 << 20, 120))));
    const got = await drain(ch);
    assert.equal(got.filter((t) => t.startsWith('event')), ['event 0', 'event 1', 'event 2', 'event 4']);
    assert.is(got.length, 9);
    assert.is(ch.counters.get('CorruptRecordsSkipped'), 1);
    await ch.put(ev(5, 1));
    assert.equal(await drain(ch), ['event 5']);
  } finally {
    await ch.stop();
    cleanup();
  }
});

for (const damage of ['missing', 'corrupt', 'stale'] as const) {
  test(`a ${damage} checkpoint falls back to a full replay without loss`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const ch = open(dir);
      await ch.start();
      await ch.put(ev(0, 20));
      const t = await ch.take(5);
      await t.commit();
      await ch.stop(); // writes a checkpoint
      const ck = join(ch.checkpointDir, 'checkpoint');
      assert.ok(existsSync(ck));
      if (damage === 'missing') unlinkSync(ck);
      if (damage === 'corrupt') {
        const b = readFileSync(ck);
        b[b.length - 3] ^= 0xff;
        writeFileSync(ck, b);
      }
      if (damage === 'stale') {
        // a checkpoint pointing at a segment that is gone
        const b = readFileSync(ck, 'utf8').split('\n');
        const body = JSON.parse(b[1]);
        body.end = 99 * 2 ** 32 + 40;
        const { encodeCheckpoint } = await import('../src/channels/file/checkpoint.ts');
        writeFileSync(ck, encodeCheckpoint(body));
      }
      const again = open(dir);
      await again.start();
      assert.is(again.size, 15);
      assert.equal(await drain(again), range(5, 20));
      await again.stop();
    } finally {
      cleanup();
    }
  });
}

test('replay from a checkpoint sees puts and takes written after it', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ch = open(dir, { checkpointOnClose: false });
    await ch.start();
    await ch.put(ev(0, 10));
    await ch.checkpoint(true);
    await ch.put(ev(10, 10));
    const t = await ch.take(12);
    await t.commit();
    await ch.stop();
    const again = open(dir);
    await again.start();
    assert.is(again.counters.details!().replay && (again.counters.details!().replay as { usedCheckpoint: boolean }).usedCheckpoint, true);
    assert.equal(await drain(again), range(12, 20));
    await again.stop();
  } finally {
    cleanup();
  }
});

test('the next segment is made ahead once the active one is half full: a roll uses it, a stop removes it unused, a crash leaves it harmless', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ch = open(dir, { maxFileSize: 8192, checkpointOnClose: false });
    await ch.start();
    let n = 0;
    const putUntil = async (done: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !done(); i++) {
        await ch.put(ev(n, 10));
        n += 10;
      }
    };
    await putUntil(() => segments(ch).length === 2);
    // the second file is the one made ahead: only its header, and no put has gone into it yet
    const [first, ahead] = segments(ch);
    await until('the segment made ahead has its header on disk', () => statSync(ahead).size === 40);
    await putUntil(() => statSync(ahead).size > 40);
    assert.ok(statSync(ahead).size > 40, 'the roll wrote into the segment made ahead');
    assert.is(segments(ch)[0], first, 'no segment was skipped');
    // past half of the second: a third is made ahead; copy everything as a crash would leave it
    await putUntil(() => segments(ch).length === 3);
    await until('the third segment made ahead', () => statSync(segments(ch)[2]).size === 40);
    const crashed = join(dir, 'crashed');
    cpSync(join(dir, 'channels'), join(crashed, 'channels'), { recursive: true });
    // the locks name this (live) process: a crashed agent's would name a dead one
    for (const d of ['checkpoint', 'data']) rmSync(join(crashed, 'channels/c1', d, 'in_use.lock'), { force: true });
    await ch.stop();
    assert.is(segments(ch).length, 2, 'a clean stop removes the segment made ahead and never used');
    const again = open(crashed);
    await again.start();
    assert.equal(await drain(again), range(0, n), 'after the crash every event is there, once, in order');
    await again.put(ev(n, 5));
    assert.equal(await drain(again), range(n, n + 5), 'and it writes on (into the empty segment it found)');
    await again.stop();
  } finally {
    cleanup();
  }
});

test('segments roll at maxFileSize, consumed segments are deleted, and a backlog across segments survives restart', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ch = open(dir, { maxFileSize: 4096 });
    await ch.start();
    for (let i = 0; i < 30; i++) await ch.put(ev(i * 20, 20));
    const many = segments(ch).length;
    const first = segments(ch)[0];
    assert.ok(many >= 3, `rolled into ${many} segments`);
    const taken: string[] = [];
    for (let i = 0; i < 10; i++) {
      const t = await ch.take(30);
      taken.push(...text(t.events));
      await t.commit();
    }
    // deleted off the event loop, moments after the commit that consumed it
    await until('the consumed first segment deleted', () => !segments(ch).includes(first));
    assert.ok(ch.counters.get('OldestEventAgeMs') >= 0);
    await ch.stop();
    assert.equal(readdirSync(ch.dataDirs[0]).filter((n) => n.endsWith('.deleting')), [], 'every deletion finished before stop returned');
    const report = await inspectChannel(join(dir, 'channels', 'c1'));
    assert.is(report.eventsPending, 300);
    assert.is(report.checkpoint.status, 'ok');
    assert.match(formatInspect(report), 'events pending: 300');
    const again = open(dir, { maxFileSize: 4096 });
    await again.start();
    taken.push(...(await drain(again)));
    assert.equal(taken, range(0, 600));
    await again.put(ev(600, 1));
    await drain(again);
    // consumed segments are deleted off the event loop, one after another, a step at a time
    await until(() => `only the active segment left: ${segments(again).join(', ')}`, () => segments(again).length === 1);
    await again.stop();
    const v = await verifyChannel(join(dir, 'channels', 'c1'));
    assert.is(v.corrupt.length, 0);
  } finally {
    cleanup();
  }
});

test('a consumed segment whose deletion a crash cut short (renamed, partly cut) is removed at start and never replayed', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ch = open(dir, { maxFileSize: 4096 });
    await ch.start();
    for (let i = 0; i < 30; i++) await ch.put(ev(i * 20, 20));
    await ch.stop();
    // what removeSegmentFile leaves when the process dies between its rename and its unlink: the first
    // segment under its doomed name, cut short mid-record (its events were consumed before it was renamed)
    const [first] = segments(ch);
    const doomed = `${first}.deleting`;
    cpSync(first, doomed);
    writeFileSync(doomed, readFileSync(doomed).subarray(0, 1000));
    // inspect counts it apart from the segments: its bytes are on disk, its events are not pending
    const report = await inspectChannel(join(dir, 'channels', 'c1'));
    assert.equal(report.deleting, [{ path: doomed, bytes: 1000 }]);
    assert.not.ok(report.segments.some((s) => s.path === doomed));
    assert.match(formatInspect(report), /being deleted: 1 consumed segment\(s\), 1000 B/);
    const before = lines.length;
    const again = open(dir, { maxFileSize: 4096 });
    await again.start();
    assert.not.ok(existsSync(doomed), 'the half-deleted file is gone');
    assert.match(lines.slice(before).join('\n'), /removed .*\.deleting, a consumed segment whose deletion a crash cut short/);
    assert.equal(await drain(again), range(0, 600), 'the real segments replay whole, the doomed copy adds nothing');
    await again.stop();
  } finally {
    cleanup();
  }
});

test('removeSegmentFile renames a segment, cuts it a step at a time, then unlinks it; a failed step still deletes it', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const MiB = 1 << 20;
    const path = join(dir, 'log-0000000007.wal');
    const doomed = `${path}.deleting`;
    writeFileSync(path, Buffer.alloc(3 * MiB + 123, 1));
    const seen: string[] = [];
    await removeSegmentFile(path, MiB, (size) => {
      seen.push(`${size} ${statSync(doomed).size} ${existsSync(path)}`);
    });
    assert.equal(seen, [`${3 * MiB} ${3 * MiB} false`, `${2 * MiB} ${2 * MiB} false`, `${MiB} ${MiB} false`], 'cut under its doomed name, never under its own');
    assert.equal(readdirSync(dir), []);
    // a step that fails (here the callback; for real, a segment that cannot be opened for writing)
    writeFileSync(path, Buffer.alloc(2 * MiB, 1));
    await removeSegmentFile(path, MiB, () => {
      throw new Error('no');
    });
    assert.equal(readdirSync(dir), [], 'unlinked whole');
    await removeSegmentFile(path).then(() => assert.unreachable('a missing segment is an error'), (err: NodeJS.ErrnoException) => assert.is(err.code, 'ENOENT'));
    assert.equal(DELETE_STEP, 4 * MiB);
  } finally {
    cleanup();
  }
});

test('a take committed while the channel stops: its consumed segments are gone before stop() returns', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ch = open(dir, { maxFileSize: 64 * 1024 });
    await ch.start();
    const body = 'x'.repeat(1000);
    for (let i = 0; i < 10; i++) await ch.put(Array.from({ length: 100 }, () => eventOf(body)));
    const many = segments(ch).length;
    assert.ok(many >= 10, `${many} segments`);
    const last = await ch.take(1000);
    const stopping = ch.stop();
    await last.commit();
    await stopping;
    const left = readdirSync(ch.dataDirs[0]);
    assert.equal(left.filter((n) => n.endsWith('.deleting')), [], 'no deletion outlived stop()');
    // what is left: the segment the consumed position points into and the one the commit's record rolled to
    assert.ok(left.filter((n) => n.endsWith('.wal')).length <= 2, `consumed segments deleted: ${left.join(' ')}`);
  } finally {
    cleanup();
  }
});

test('a segment cut short while it is scanned fails the scan with SegmentShrankError (inspect and verify retry), never a spin', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ch = open(dir, { maxFileSize: 64 << 20 });
    await ch.start();
    const body = 'x'.repeat(1000);
    for (let i = 0; i < 60; i++) await ch.put(Array.from({ length: 100 }, () => eventOf(body)));
    await ch.stop();
    const [seg] = segments(ch);
    assert.ok(statSync(seg).size > SCAN_CHUNK, 'more than one scan read');
    let cut = false;
    const scan = (): unknown => scanSegment(seg, 40, {
      frame() {
        if (!cut) {
          cut = true;
          truncateSync(seg, 1 << 20);
        }
      },
      corrupt() {},
    });
    assert.throws(scan, (err: Error) => err instanceof SegmentShrankError && /shrank from \d+ to \d+ bytes/.test(err.message));
  } finally {
    cleanup();
  }
});

test('inspect and verify read a running agent\'s dirs without its lock', async () => {
  const { dir, cleanup } = tempDir();
  const ch = open(dir);
  try {
    await ch.start();
    await ch.put(ev(0, 7));
    const r = await inspectChannel(join(dir, 'channels', 'c1'));
    assert.is(r.eventsPending, 7);
    assert.is(r.lockedBy, process.pid);
    assert.ok(r.oldestEventAgeMs !== null && r.oldestEventAgeMs < 60_000);
    const v = await verifyChannel(join(dir, 'channels', 'c1'));
    assert.is(v.events, 7);
    assert.is(v.corrupt.length, 0);
    await ch.put(ev(7, 1)); // still ours
    assert.is(ch.size, 8);
  } finally {
    await ch.stop();
    cleanup();
  }
});


/** Rewrites a segment's header as format version `v` (its CRC made good again). */
function setVersion(path: string, v: number): void {
  const b = readFileSync(path);
  b.writeUInt16LE(v, 8);
  b.writeUInt32LE(crc32(b, 0, 36), 36);
  writeFileSync(path, b);
}

test('a segment of format version 1 (every entry with its own header block) replays and is not appended to; one newer than this build is refused, named', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ch = open(dir, { checkpointOnClose: false });
    await ch.start();
    // each event with headers of its own: no entry says SAME_AS_FIRST, which version 1 did not have
    await ch.put(ev(0, 50).map((e, i) => ({ headers: { n: String(i) }, body: e.body })));
    await ch.stop();
    const [seg] = segments(ch);
    assert.is(readFileSync(seg).readUInt16LE(8), FORMAT_VERSION);
    setVersion(seg, 1);
    const sizeV1 = statSync(seg).size;
    const old = open(dir);
    await old.start();
    // new records (whose entries may say SAME_AS_FIRST) go to a new segment: a segment's header names one
    // version for all its records, so an older build never finds newer records under its own version
    await old.put(ev(50, 10).map((e) => ({ headers: { n: 'same' }, body: e.body })));
    const t = await old.take(1000);
    assert.equal(text(t.events), range(0, 60));
    assert.equal(t.events.map((e) => e.headers.n), [...range(0, 50).map((_, i) => String(i)), ...Array(10).fill('same')]);
    await t.rollback();
    await old.stop();
    assert.is(statSync(seg).size, sizeV1, 'nothing appended to the version 1 segment');
    const after = segments(old);
    assert.is(after.length, 2);
    assert.equal(after.map((p) => readFileSync(p).readUInt16LE(8)), [1, FORMAT_VERSION]);
    setVersion(seg, FORMAT_VERSION + 1);
    const newer = open(dir);
    const err = await newer.start().then(() => undefined, (e: unknown) => e as Error);
    assert.ok(err, 'a newer format is not guessed at');
    assert.match(err!.message, seg);
    assert.match(err!.message, new RegExp(`format version ${FORMAT_VERSION + 1}, this one reads up to ${FORMAT_VERSION}`));
  } finally {
    cleanup();
  }
});

/** [start, end) of each valid frame of a segment, in order. */
function frames(seg: string): [number, number][] {
  const out: [number, number][] = [];
  scanSegment(seg, 40, { frame: (_t, _b, _a, _l, off, end) => out.push([off, end]), corrupt: () => undefined });
  return out;
}

test('a hole of zeros between two records (a write that never reached the disk while a later one did) is skipped as a crash\'s leftover, not counted as corruption', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ch = open(dir, { checkpointOnClose: false });
    await ch.start();
    await ch.put(ev(0, 2));
    await ch.put(ev(2, 3));
    await ch.put(ev(5, 5));
    await ch.stop();
    const seg = segments(ch)[0];
    const [, [hs, he]] = frames(seg);
    const fd = openSync(seg, 'r+');
    writeSync(fd, Buffer.alloc(he - hs), 0, he - hs, hs);
    closeSync(fd);
    const v = await verifyChannel(join(dir, 'channels', 'c1'));
    assert.is(v.corrupt.length, 0);
    assert.equal(v.crashLeftovers.map((c) => [c.file, c.offset, c.length]), [[seg, hs, he - hs]]);
    assert.match(formatVerify(v), 'left by a crash: 1 range(s)');
    assert.not.match(formatVerify(v), 'CORRUPT');
    lines.length = 0;
    const again = open(dir);
    await again.start();
    assert.is(again.counters.get('CrashLeftoversSkipped'), 1);
    assert.equal(await drain(again), [...range(0, 2), ...range(5, 10)]);
    assert.is(again.counters.get('CorruptRecordsSkipped'), 0, 'nor when the takes pass the hole');
    await again.stop();
    assert.ok(lines.some((l) => l.includes(seg) && l.includes(`offset ${hs}`) && l.includes('never acknowledged')), lines.join('\n'));
    assert.not.ok(lines.some((l) => l.includes('corrupt bytes')));
    // bytes that are not all zero are still damage
    const fd2 = openSync(seg, 'r+');
    writeSync(fd2, Buffer.from('X'), 0, 1, hs + 100);
    closeSync(fd2);
    const w = await verifyChannel(join(dir, 'channels', 'c1'));
    assert.is(w.corrupt.length, 1);
    assert.is(w.crashLeftovers.length, 0);
  } finally {
    cleanup();
  }
});

/** A channel in `dir` whose 400 events rolled over several small segments, stopped; its first segment. */
async function rolled(dir: string): Promise<string> {
  const ch = open(dir, { maxFileSize: 4096, checkpointOnClose: false });
  await ch.start();
  for (let i = 0; i < 20; i++) await ch.put(ev(i * 20, 20));
  await ch.stop();
  assert.ok(segments(ch).length >= 2, `rolled into ${segments(ch).length} segments`);
  return segments(ch)[0];
}

test('a record cut short at the end of a segment the log rolled away from is a crash\'s leftover; garbage there is still corruption', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const first = await rolled(dir);
    // the first bytes of a record whose write the crash cut short: its header says more follows than the file holds
    const [[fs, fe]] = frames(first);
    appendFileSync(first, readFileSync(first).subarray(fs, fs + Math.floor((fe - fs) / 2)));
    const v = await verifyChannel(join(dir, 'channels', 'c1'));
    assert.is(v.corrupt.length, 0);
    assert.is(v.crashLeftovers.length, 1);
    assert.is(v.crashLeftovers[0].file, first);
    assert.is(v.crashLeftovers[0].reason, 'frame runs past the end of the file');
    lines.length = 0;
    assert.match(formatInspect(await inspectChannel(join(dir, 'channels', 'c1'))), 'left by a crash: 1 region(s)');
    const again = open(dir, { maxFileSize: 4096 });
    await again.start();
    assert.is(again.counters.get('CrashLeftoversSkipped'), 1);
    assert.equal(await drain(again), range(0, 400));
    assert.is(again.counters.get('CorruptRecordsSkipped'), 0, 'nor when the takes pass the end of the segment');
    await again.stop();
    assert.ok(lines.some((l) => l.includes(first) && l.includes('a crash cut short') && l.includes('never acknowledged')), lines.join('\n'));
    // whole-looking garbage at the end of a rolled segment (no short write explains it) is damage
    const { dir: dir2, cleanup: cleanup2 } = tempDir();
    try {
      const first2 = await rolled(dir2);
      const [[gs, ge]] = frames(first2);
      const bad = Buffer.from(readFileSync(first2).subarray(gs, ge));
      bad[bad.length - 1] ^= 0xff; // whole length, wrong checksum
      appendFileSync(first2, bad);
      const w = await verifyChannel(join(dir2, 'channels', 'c1'));
      assert.is(w.corrupt.length, 1);
      assert.is(w.corrupt[0].reason, 'checksum mismatch');
      assert.is(w.crashLeftovers.length, 0);
    } finally {
      cleanup2();
    }
  } finally {
    cleanup();
  }
});

test.run();
