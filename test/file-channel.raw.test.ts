import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type { Taken } from '../src/channels/channel.ts';
import { FileChannel } from '../src/channels/file/file-channel.ts';
import { decodeRuns, type EventLike } from '../src/channels/file/framing.ts';
import type { LogReader } from '../src/channels/file/reader.ts';
import { eventOf } from '../src/core/event.ts';
import { Logger } from '../src/core/log.ts';
import { tempDir } from './helpers/poll.ts';
import { heavy } from './helpers/property.ts';

/**
 * Takes handed out as records (Taken.raw, what the HTTP sink encodes from):
 * their read buffers are recycled once the take is finished, so a buffer
 * still held by an open take must never be read into again. Enough data is
 * put that takes come from disk reads (past the writer's in-memory window),
 * and takes stay open in random order while later ones read on.
 */
const log = new Logger({ write: () => undefined }, 'error');
const PAD = 'x'.repeat(180);

const idsOf = (runs: Taken['raw']): number[] => {
  const out: EventLike[] = [];
  decodeRuns(runs ?? [], out);
  return out.map((e) => Number(e.headers.id));
};

test('open takes keep their records intact while finished ones lend their buffers to later reads; every event once, in order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.record({ keep: fc.nat(3), rollback: fc.boolean(), max: fc.integer({ min: 200, max: 3000 }) }), { minLength: 40, maxLength: 60 }), async (steps) => {
      const { dir, cleanup } = tempDir();
      const ch = new FileChannel(
        { capacity: 1_000_000, transactionCapacity: 3000, checkpointIntervalMs: 60_000, maxFileSize: 64 << 20, minimumRequiredSpace: 0, keepAliveMs: 0, checkpointOnClose: false },
        { name: 'raw', log, stateDir: dir },
      );
      await ch.start();
      try {
        const total = 60_000; // ~13 MB: most takes read from disk
        for (let i = 0; i < total; i += 1000) await ch.put(Array.from({ length: 1000 }, (_, j) => eventOf(`${i + j} ${PAD}`, { id: String(i + j) })));
        const open: { taken: Taken; ids: number[]; rollback: boolean }[] = [];
        const delivered: number[] = [];
        const finish = async (o: { taken: Taken; ids: number[]; rollback: boolean }): Promise<void> => {
          assert.equal(idsOf(o.taken.raw), o.ids, 'an open take\'s records are unchanged');
          if (o.rollback) await o.taken.rollback();
          else {
            delivered.push(...o.ids);
            await o.taken.commit();
          }
        };
        for (const s of [...steps, ...Array.from({ length: 200 }, () => ({ keep: 0, rollback: false, max: 3000 }))]) {
          const t = await ch.take(s.max);
          // Drained only if nothing came and nothing was open: a take still open
          // may be rolled back below, which puts its events back to be taken again.
          const drained = t.count === 0 && open.length === 0;
          if (t.count > 0) open.push({ taken: t, ids: idsOf(t.raw), rollback: s.rollback });
          for (const o of open) assert.equal(idsOf(o.taken.raw), o.ids, 'records of takes still open are unchanged');
          while (open.length > s.keep) await finish(open.splice(Math.floor(open.length / 2), 1)[0]);
          if (drained) break;
        }
        for (const o of open.splice(0)) await finish({ ...o, rollback: false });
        delivered.sort((a, b) => a - b);
        assert.equal(delivered.length, total, 'every event delivered once');
        assert.ok(delivered.every((id, i) => id === i));
        const reader = (ch as unknown as { reader: LogReader }).reader;
        assert.ok(reader.buffers.recycled > 0, 'read buffers were recycled');
      } finally {
        await ch.stop();
        cleanup();
      }
    }),
    heavy(3),
  );
});

test('a take read as events keeps them after it is finished; one delivered from its records says they are gone', async () => {
  const { dir, cleanup } = tempDir();
  const ch = new FileChannel(
    { capacity: 1000, transactionCapacity: 100, checkpointIntervalMs: 60_000, maxFileSize: 1 << 20, minimumRequiredSpace: 0, keepAliveMs: 0, checkpointOnClose: false },
    { name: 'raw', log, stateDir: dir },
  );
  await ch.start();
  try {
    await ch.put([eventOf('a'), eventOf('b')]);
    const first = await ch.take(1);
    await first.commit();
    assert.equal(first.events.map((e) => Buffer.from(e.body).toString()), ['a'], 'never read before commit: still decodable');
    const second = await ch.take(1);
    assert.is(second.raw?.length, 1);
    await second.commit();
    assert.throws(() => second.events, /gone/);
  } finally {
    await ch.stop();
    cleanup();
  }
});

test.run();
