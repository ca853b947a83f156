import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { heavy } from './helpers/property.ts';
import { FileChannel } from '../src/channels/file/file-channel.ts';
import type { Taken } from '../src/channels/channel.ts';
import { eventOf } from '../src/core/event.ts';
import { Logger } from '../src/core/log.ts';
import { tempDir } from './helpers/poll.ts';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Random sequences of put / take / commit / rollback / checkpoint / restart,
 * checked against a model: the pending events are a sorted set of ids (the log
 * is FIFO and a rollback puts events back in log order), open takes hold theirs,
 * a restart or a crash returns every open take. FT_MODEL_RUNS=500 runs longer.
 */
type Op =
  | { op: 'put'; n: number }
  | { op: 'take'; max: number }
  | { op: 'commit'; which: number }
  | { op: 'rollback'; which: number }
  | { op: 'checkpoint' }
  | { op: 'restart'; clean: boolean }
  /** copy the dirs as they are on disk now (no stop, no final checkpoint) and carry on from the copy */
  | { op: 'crash' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('put' as const), n: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('take' as const), max: fc.integer({ min: 1, max: 25 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('commit' as const), which: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rollback' as const), which: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('checkpoint' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('restart' as const), clean: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('crash' as const) }) },
);

const log = new Logger({ write: () => undefined }, 'error');

test('the channel agrees with a FIFO model under random put/take/commit/rollback/restart', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), async (ops) => {
      const { dir: root, cleanup } = tempDir();
      let dir = join(root, '0');
      let crashes = 0;
      let clean = true;
      const open = (): FileChannel =>
        new FileChannel(
          // tiny segments so spans cross segment boundaries and segments get deleted
          { capacity: 100_000, transactionCapacity: 100, checkpointIntervalMs: 60_000, maxFileSize: 4096, minimumRequiredSpace: 0, keepAliveMs: 0, checkpointOnClose: clean },
          { name: 'm', log, stateDir: dir },
        );
      let ch = open();
      await ch.start();
      let nextId = 0;
      let pending: number[] = [];
      let takes: { taken: Taken; ids: number[] }[] = [];
      try {
        for (const o of ops) {
          if (o.op === 'put') {
            const ids = Array.from({ length: o.n }, () => nextId++);
            await ch.put(ids.map((i) => eventOf(`e${i}`, { id: String(i), pad: 'x'.repeat(i % 7) })));
            pending.push(...ids);
          } else if (o.op === 'take') {
            const t = await ch.take(o.max);
            const ids = t.events.map((e) => Number(e.headers.id));
            assert.equal(ids, pending.slice(0, o.max), 'take returns the head of the model, in order');
            for (const e of t.events) assert.is(Buffer.from(e.body).toString(), `e${e.headers.id}`);
            pending = pending.slice(ids.length);
            if (ids.length) takes.push({ taken: t, ids });
          } else if ((o.op === 'commit' || o.op === 'rollback') && takes.length) {
            const [t] = takes.splice(o.which % takes.length, 1);
            if (o.op === 'commit') await t.taken.commit();
            else {
              await t.taken.rollback();
              pending = [...pending, ...t.ids].sort((a, b) => a - b);
            }
          } else if (o.op === 'checkpoint') {
            await ch.checkpoint(true);
          } else if (o.op === 'restart' || o.op === 'crash') {
            if (o.op === 'restart') {
              clean = o.clean;
              await ch.stop();
            } else {
              // every acknowledged write is on disk now; copy the files as a crash would leave them
              const copy = join(root, String(++crashes));
              cpSync(dir, copy, { recursive: true });
              for (const f of [join(copy, 'channels/m/checkpoint/in_use.lock'), join(copy, 'channels/m/data/in_use.lock')]) rmSync(f, { force: true });
              await ch.stop();
              dir = copy;
            }
            for (const t of takes) pending.push(...t.ids);
            pending.sort((a, b) => a - b);
            takes = [];
            ch = open();
            await ch.start();
          }
          const open_ = takes.reduce((n, t) => n + t.ids.length, 0);
          assert.is(ch.size, pending.length + open_, 'size counts pending and open takes');
        }
        // drain: exactly the model's pending events, in order
        for (const t of takes) await t.taken.rollback();
        for (const t of takes) pending.push(...t.ids);
        pending.sort((a, b) => a - b);
        const all: number[] = [];
        for (;;) {
          const t = await ch.take(100);
          if (!t.events.length) break;
          all.push(...t.events.map((e) => Number(e.headers.id)));
          await t.commit();
        }
        assert.equal(all, pending);
      } finally {
        await ch.stop();
        cleanup();
      }
    }),
    heavy(Number(process.env.FT_MODEL_RUNS ?? 25)),
  );
});

test.run();
