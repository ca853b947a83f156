import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Taken } from '../src/channels/channel.ts';
import { FileChannel, FILE_CHANNEL_DEFAULTS } from '../src/channels/file/file-channel.ts';
import { decodeRuns, type EventLike } from '../src/channels/file/framing.ts';
import type { FramePool } from '../src/channels/file/frame-pool.ts';
import { ChannelProcessor } from '../src/core/channel-processor.ts';
import { Logger } from '../src/core/log.ts';
import { ReplicatingSelector } from '../src/selectors/replicating.ts';
import type { BufferPool } from '../src/core/buffer-pool.ts';
import { taildirSourceSpec } from '../src/sources/taildir/spec.ts';
import type { TaildirSource } from '../src/sources/taildir/source.ts';
import { contextOf } from './helpers/context.ts';
import { tempDir, until } from './helpers/poll.ts';
import { FAST } from './taildir.harness.ts';

/**
 * TAILDIR into the real file channel: plain lines go as line batches (ranges
 * of the read buffers, no events), the read buffers and the channel's put
 * frames are reused once every holder let go, and takes stay open while later
 * reads and puts reuse memory. Every line must come out once, byte for byte.
 */
const log = new Logger({ write: () => undefined }, 'error');

function lineOf(i: number): string {
  // lengths from 0 to ~400 bytes, some CRLF, some bytes that are not UTF-8
  const pad = 'abcdefghij'.repeat(i % 41);
  return `${i} ${pad}${i % 7 === 0 ? '\u00e9\u4e2d' : ''}`;
}

test('a large file comes through the file channel line for line while read buffers and put frames are reused', async () => {
  const { dir, cleanup } = tempDir();
  const file = join(dir, 'app.log');
  const total = 40_000;
  const want: string[] = [];
  let text = '';
  for (let i = 0; i < total; i++) {
    const l = lineOf(i);
    want.push(l);
    text += l + (i % 5 === 0 ? '\r\n' : '\n');
  }
  writeFileSync(file, text);
  // binary bytes in the middle of a line pass through as they are
  appendFileSync(file, Buffer.concat([Buffer.from('bin '), Buffer.from([0xff, 0xfe, 0x00, 0x80]), Buffer.from('\n')]));
  const ch = new FileChannel({ ...FILE_CHANNEL_DEFAULTS, capacity: 5_000, transactionCapacity: 1000, minimumRequiredSpace: 0 }, { name: 'c1', log, stateDir: join(dir, 'ch') });
  await ch.start();
  const processor = new ChannelProcessor([], new ReplicatingSelector([ch], []), log);
  const { ctx } = contextOf('a.sources.r1', { filegroups: 'f1', 'filegroups.f1': file, positionFile: join(dir, 'pos.json'), batchSize: 1000, ...FAST }, 1, 0);
  // small read buffers: many of them, and lines across their ends
  const opts = { ...taildirSourceSpec.parse(ctx), chunkSize: 16384 };
  const source = taildirSourceSpec.create(opts, { name: 'r1', processor, log, stateDir: dir }) as TaildirSource;
  const got: Buffer[] = [];
  try {
    await source.start();
    // drain as the HTTP sink does (from the records, never decoding events, so the frames' slabs
    // can be reused), holding a few takes open while reading and putting go on
    const open: Taken[] = [];
    const finish = async (t: Taken): Promise<void> => {
      const out: EventLike[] = [];
      decodeRuns(t.raw ?? [], out);
      for (const e of out) got.push(Buffer.from(e.body));
      await t.commit();
    };
    await until('every line taken', async () => {
      const t = await ch.take(700);
      if (t.count > 0) open.push(t);
      while (open.length > 2) await finish(open.shift()!);
      if (t.count === 0) for (const o of open.splice(0)) await finish(o);
      return got.length >= total + 1;
    }, 30_000);
    const pool = (source as unknown as { pool: BufferPool }).pool;
    const frames = (ch as unknown as { frames: FramePool }).frames;
    assert.ok(pool.recycled > 0, `read buffers were reused (${pool.recycled})`);
    assert.ok(frames.reused > 0, `put frames' slabs were reused (${frames.reused})`);
  } finally {
    await source.stop();
    await ch.stop();
  }
  const last = got.pop()!;
  assert.equal(last, Buffer.concat([Buffer.from('bin '), Buffer.from([0xff, 0xfe, 0x00, 0x80])]));
  assert.is(got.length, total);
  for (let i = 0; i < total; i++) {
    if (got[i].toString() !== want[i]) assert.unreachable(`line ${i}: ${JSON.stringify(got[i].toString().slice(0, 60))} instead of ${JSON.stringify(want[i].slice(0, 60))}`);
  }
  cleanup();
});

test.run();
