// Model-based test: random sequences of file-system actions applied to real
// files under a real TaildirSource and to a model of what must be delivered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { appendFileSync, copyFileSync, existsSync, readFileSync, statSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeProcessor, buildSource, FAST } from './taildir.harness.ts';
import type { TaildirSource } from '../src/sources/taildir/source.ts';
import { tempDir, until } from './helpers/poll.ts';
import { heavy } from './helpers/property.ts';

type Action =
  | { kind: 'write'; lines: number; pad: number; leavePartial: boolean }
  | { kind: 'rotate'; linesBefore: number }
  | { kind: 'copytruncate' }
  | { kind: 'delete'; linesBefore: number }
  | { kind: 'sync' }
  | { kind: 'restart'; linesWhileDown: number }
  | { kind: 'crash' };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), lines: fc.integer({ min: 1, max: 40 }), pad: fc.integer({ min: 0, max: 300 }), leavePartial: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rotate' as const), linesBefore: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('copytruncate' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), linesBefore: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sync' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), linesWhileDown: fc.integer({ min: 0, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const) }) },
);

/** What must, may, and may repeatedly be delivered. */
class Model {
  readonly required = new Set<string>();
  readonly dupAllowed = new Set<string>();
  next = 0;
  /** the live file ends in an unfinished line: its id and text so far */
  partial: { text: string } | null = null;
}

async function runScenario(mode: 'group' | 'dir', actions: Action[]): Promise<void> {
  const { dir, cleanup } = tempDir('taildir-model-');
  const logs = join(dir, 'logs');
  const state = join(dir, 'state');
  const posFile = join(state, 'pos.json');
  const snap = join(dir, 'pos.snapshot.json');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(logs);
  const live = join(logs, 'app.log');
  const keys = mode === 'group'
    ? { filegroups: 'g', 'filegroups.g': join(logs, 'app\\.log'), positionFile: posFile, batchSize: 7, ...FAST }
    : { paths: logs, positionFile: posFile, batchSize: 7, ...FAST };
  const proc = new FakeProcessor();
  const model = new Model();
  let rotations = 0;
  let source: TaildirSource = buildSource(keys, proc, state).source;
  let snapshotDelivered = 0; // delivered count when the snapshot of the position file was taken
  let snapshotExists = false;
  await source.start();

  const line = (pad: number): string => `L${model.next++}-${'p'.repeat(pad)}`;
  const completePartial = (): void => {
    if (!model.partial) return;
    appendFileSync(live, '-end\n');
    model.required.add(`${model.partial.text}-end`);
    model.partial = null;
  };
  const writeLines = (n: number, pad = 10): void => {
    completePartial();
    let text = '';
    for (let i = 0; i < n; i++) {
      const l = line(pad);
      text += `${l}\n`;
      model.required.add(l);
    }
    appendFileSync(live, text);
  };
  const sync = async (): Promise<void> => {
    await until('every required line delivered and the live file followed', () => {
      const got = new Set(proc.bodies());
      for (const r of model.required) if (!got.has(r)) return false;
      if (!existsSync(live)) return true;
      const ino = statSync(live).ino;
      const files = (source.counters.details?.().files ?? []) as { inode: number }[];
      return files.some((f) => f.inode === ino);
    }, 4000, 5);
    const counts = new Map<string, number>();
    for (const b of proc.bodies()) counts.set(b, (counts.get(b) ?? 0) + 1);
    for (const [b, c] of counts) {
      assert.ok(model.required.has(b), `unexpected line delivered: ${JSON.stringify(b.slice(0, 40))}`);
      if (c > 1) assert.ok(model.dupAllowed.has(b), `line delivered ${c} times: ${b.slice(0, 40)}`);
    }
  };

  try {
    for (const a of actions) {
      switch (a.kind) {
        case 'write': {
          writeLines(a.lines, a.pad);
          if (a.leavePartial) {
            const l = line(3);
            appendFileSync(live, l);
            model.partial = { text: l };
          }
          break;
        }
        case 'rotate': {
          if (!existsSync(live)) break;
          completePartial();
          await sync(); // the live file is known to the source...
          writeLines(a.linesBefore); // ...and these, written just before the rename, must still come
          renameSync(live, join(logs, `app.log.${++rotations}`));
          writeFileSync(live, '');
          break;
        }
        case 'copytruncate': {
          if (!existsSync(live)) break;
          completePartial();
          await sync();
          copyFileSync(live, join(logs, `app.log.${++rotations}.gz`));
          truncateSync(live, 0);
          break;
        }
        case 'delete': {
          if (!existsSync(live)) break;
          completePartial();
          await sync();
          writeLines(a.linesBefore); // the file is open: deleting it must not lose these
          unlinkSync(live);
          break;
        }
        case 'sync':
          await sync();
          break;
        case 'restart': {
          // a stopped source cannot read a file deleted or renamed away unmatched meanwhile: let it finish first
          await sync();
          await source.stop();
          copyFileSync(posFile, snap);
          snapshotExists = true;
          snapshotDelivered = proc.events.length;
          if (a.linesWhileDown > 0) writeLines(a.linesWhileDown);
          source = buildSource(keys, proc, state).source;
          await source.start();
          break;
        }
        case 'crash': {
          // a crash leaves a position file from some earlier moment: the last clean stop's (or none)
          await sync();
          await source.stop();
          const bodies = proc.bodies();
          for (let i = snapshotDelivered; i < bodies.length; i++) model.dupAllowed.add(bodies[i]);
          if (snapshotExists) copyFileSync(snap, posFile);
          else rmSync(posFile, { force: true });
          source = buildSource(keys, proc, state).source;
          await source.start();
          break;
        }
      }
    }
    completePartial();
    await sync();
    assert.is(source.counters.get('BytesAbandoned'), 0);
  } finally {
    await source.stop();
    cleanup();
  }
}

test('random write/rotate/copytruncate/delete/restart sequences deliver every line, once (file groups)', async () => {
  await fc.assert(fc.asyncProperty(fc.array(actionArb, { minLength: 3, maxLength: 18 }), (actions) => runScenario('group', actions)), heavy(Number(process.env.TAILDIR_MODEL_RUNS ?? 12)));
});

test('the same with a watched directory (rotated names still match: followed by identity, not re-read)', async () => {
  await fc.assert(fc.asyncProperty(fc.array(actionArb, { minLength: 3, maxLength: 18 }), (actions) => runScenario('dir', actions)), heavy(Number(process.env.TAILDIR_MODEL_RUNS ?? 12)));
});

void readFileSync;
test.run();
