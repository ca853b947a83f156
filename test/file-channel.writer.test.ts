import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { coalesce, GroupCommitLog, type ActiveSegment } from '../src/channels/file/group-commit.ts';
import { offOf, pos } from '../src/channels/file/framing.ts';
import { createSegment } from '../src/channels/file/segment.ts';
import { tempDir } from './helpers/poll.ts';

function segment(dir: string): ActiveSegment {
  const { fd, dsync, path } = createSegment(dir, 1);
  return { id: 1, dir, path, fd, dsync, size: 40, dataStart: 40 };
}

test('concurrent appends share one sync and their callbacks run in log order', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const seg = segment(dir);
    const log = new GroupCommitLog(seg, 1 << 20, { roll: () => { throw new Error('no roll expected'); } });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(Buffer.alloc(10, i), (start) => order.push(offOf(start)))));
    assert.equal(order, [...order].sort((a, b) => a - b));
    assert.is(order.length, 50);
    assert.ok(log.stats.total < 50, `${log.stats.total} syncs for 50 appends`);
    assert.is(statSync(seg.path).size, 40 + 500);
  } finally {
    cleanup();
  }
});

test('a segment written without O_DSYNC (as under Deno) is fdatasync\'ed per cycle: appends land in order, whole', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const made = segment(dir);
    closeSync(made.fd);
    const seg: ActiveSegment = { ...made, fd: openSync(made.path, 'r+'), dsync: false };
    const log = new GroupCommitLog(seg, 1 << 20, { roll: () => { throw new Error('no roll expected'); } });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 40 }, (_, i) => log.append(Buffer.alloc(10, i), (start) => order.push(offOf(start)))));
    assert.equal(order, Array.from({ length: 40 }, (_, i) => 40 + 10 * i));
    assert.ok(log.stats.total >= 1 && log.stats.total < 40, `${log.stats.total} syncs for 40 appends`);
    const bytes = readFileSync(seg.path);
    assert.is(bytes.length, 40 + 400);
    for (let i = 0; i < 40; i++) assert.ok(bytes.subarray(40 + 10 * i, 50 + 10 * i).every((b) => b === i), `record ${i} in place`);
    closeSync(seg.fd);
  } finally {
    cleanup();
  }
});

test('a failed cycle is cut back and fails its records; the log goes on after it', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const seg = segment(dir);
    const log = new GroupCommitLog(seg, 200, { roll: () => { throw new Error('disk full (roll refused)'); } });
    const spans: [number, number][] = [];
    await log.append(Buffer.alloc(100, 65), (s, e) => spans.push([s, e]));
    // these two form one group; the first needs a roll, which fails
    const b = log.append(Buffer.alloc(150, 66), (s, e) => spans.push([s, e]));
    const c = log.append(Buffer.alloc(10, 67), (s, e) => spans.push([s, e]));
    const results = await Promise.allSettled([b, c]);
    assert.equal(results.map((r) => r.status), ['rejected', 'rejected']);
    await log.append(Buffer.alloc(10, 68), (s, e) => spans.push([s, e]));
    assert.equal(spans, [[pos(1, 40), pos(1, 140)], [pos(1, 140), pos(1, 150)]]);
    const bytes = readFileSync(seg.path);
    assert.is(bytes.length, 150);
    assert.ok(bytes.subarray(40, 140).every((x) => x === 65));
    assert.ok(bytes.subarray(140, 150).every((x) => x === 68));
  } finally {
    cleanup();
  }
});

test('records roll into a new segment before overflowing the current one', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const first = segment(dir);
    let next: ActiveSegment | undefined;
    const log = new GroupCommitLog(first, 200, {
      roll: () => {
        const { fd, dsync, path } = createSegment(dir, 2);
        next = { id: 2, dir, path, fd, dsync, size: 40, dataStart: 40 };
        return next;
      },
    });
    const spans: number[][] = [];
    await Promise.all([100, 100, 30].map((n) => log.append(Buffer.alloc(n), (s, e) => spans.push([s, e]))));
    assert.equal(spans, [[pos(1, 40), pos(1, 140)], [pos(2, 40), pos(2, 140)], [pos(2, 140), pos(2, 170)]]);
    assert.is(log.segment, next);
    assert.is(statSync(first.path).size, 140);
  } finally {
    cleanup();
  }
});

test('coalesce joins frames that lie back to back in one slab, in order, and nothing else', () => {
  const slab = Buffer.alloc(100);
  for (let i = 0; i < 100; i++) slab[i] = i;
  const other = Buffer.from([200, 201, 202]);
  const bufs = [slab.subarray(0, 10), slab.subarray(10, 25), other, slab.subarray(25, 30), slab.subarray(40, 50), slab.subarray(50, 60)];
  const out = coalesce(bufs);
  assert.equal(out.map((b) => b.length), [25, 3, 5, 20]);
  assert.ok(Buffer.concat(out).equals(Buffer.concat(bufs)));
  // views, not copies: a joined piece reads the slab itself
  slab[0] = 99;
  assert.is(out[0][0], 99);
  assert.equal(coalesce([]), []);
});

test('appends of frames cut back to back from one slab (written as one piece) land whole and in order', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const seg = segment(dir);
    const log = new GroupCommitLog(seg, 1 << 20, { roll: () => { throw new Error('no roll expected'); } });
    const slab = Buffer.alloc(3000);
    const frames = Array.from({ length: 30 }, (_, i) => slab.subarray(i * 100, (i + 1) * 100).fill(i + 1));
    const starts: number[] = [];
    await Promise.all(frames.map((f) => log.append(f, (start) => starts.push(offOf(start)))));
    assert.equal(starts, frames.map((_, i) => 40 + i * 100));
    assert.ok(readFileSync(seg.path).subarray(40).equals(slab));
  } finally {
    cleanup();
  }
});

test.run();
