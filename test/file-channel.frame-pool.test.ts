import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FramePool } from '../src/channels/file/frame-pool.ts';
import { encodePutBatch } from '../src/channels/file/framing.ts';
import { eventOf } from '../src/core/event.ts';

/** Put records cut from reused slabs: a slab is cut again only once every frame in it is let go, and never once pinned. */

/** Two frames that fill a slab (frames above half a slab are not pooled): the next frame starts another. */
const slabOfTwo = (pool: FramePool): [Buffer, Buffer] => [pool.alloc(500_000), pool.alloc(500_000)];

test('a slab is cut again once every frame in it is released and another slab is being cut', () => {
  const pool = new FramePool();
  const a = slabOfTwo(pool); // slab A
  const b = slabOfTwo(pool); // slab B, while A is still held
  assert.is.not(b[0].buffer, a[0].buffer);
  pool.release(a[0]);
  assert.is(slabOfTwo(pool)[0].buffer !== a[0].buffer, true, 'A still has a frame held: not cut again');
  pool.release(a[1]); // A idle now
  const c = slabOfTwo(pool);
  assert.is(c[0].buffer, a[0].buffer, 'A cut again');
  assert.is(pool.reused, 1);
  const d = slabOfTwo(pool);
  assert.ok(d[0].buffer !== b[0].buffer && d[0].buffer !== c[0].buffer, 'B and A are held: a new slab');
});

test('a pinned slab is never cut again; a stray release of an old frame counts on nothing', () => {
  const pool = new FramePool();
  const [a, a2] = slabOfTwo(pool);
  slabOfTwo(pool); // a's slab is no longer the one being cut
  pool.release(a2);
  pool.hold(a); // a take holds it
  pool.release(a); // the writer lets go
  pool.pin(a); // events were decoded from it
  pool.release(a); // the take finishes
  slabOfTwo(pool);
  assert.is(pool.reused, 0, 'the pinned slab was not reused');
  const [b, b2] = slabOfTwo(pool);
  slabOfTwo(pool);
  pool.release(b);
  pool.release(b2); // b's slab idle
  const [c] = slabOfTwo(pool);
  assert.is(c.buffer, b.buffer, 'cut again');
  pool.release(b); // a late second release of an old frame
  slabOfTwo(pool); // c's slab is no longer current, and c is held
  const [e] = slabOfTwo(pool);
  assert.is.not(e.buffer, c.buffer, 'the stray release did not free the slab c lives in');
});

test('trim gives back the room of the last frame; a frame whose encoding throws is discarded, its room reused', () => {
  const pool = new FramePool();
  const f = pool.alloc(100_000);
  const g = pool.trim(f, 40_000);
  assert.is(g.length, 40_000);
  const h = pool.alloc(10);
  assert.is(h.byteOffset, g.byteOffset + 40_000, 'the next frame starts where the trimmed one ends');
  // a header name longer than 65535 bytes makes the encoder throw after taking its frame
  const before = pool.alloc(10);
  assert.throws(() => encodePutBatch([eventOf('x', { ['k'.repeat(70_000)]: 'v' })], 1, pool), /longer than 65535/);
  const after = pool.alloc(10);
  assert.is(after.byteOffset, before.byteOffset + 10, 'the failed frame\'s room went back');
});

test.run();
