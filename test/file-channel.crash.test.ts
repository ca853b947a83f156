import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FileChannel } from '../src/channels/file/file-channel.ts';
import { Logger } from '../src/core/log.ts';
import { tempDir, until } from './helpers/poll.ts';

const writer = fileURLToPath(new URL('./fixtures/file-channel-crash-writer.ts', import.meta.url));

/** Runs the writer until it has acknowledged some puts, kills it with SIGKILL after a random delay, returns its output. */
async function runAndKill(dir: string, start: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, String(start)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => child.on('exit', r));
  try {
    await until('the writer to acknowledge puts', () => out.includes('put '), 20_000);
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 200));
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  // the last line may be cut: only whole lines count
  return out.split('\n').slice(0, -1);
}

test('kill -9 at random moments: every acknowledged batch survives, in order, none lost', async () => {
  const { dir, cleanup } = tempDir();
  const log = new Logger({ write: () => undefined }, 'error');
  const acked: number[] = []; // in acknowledgement order
  const took = new Set<string>();
  const taking = new Set<string>(); // commit started: gone or not, depending on when the kill came
  try {
    let start = 0;
    for (let round = 0; round < 4; round++) {
      const lines = await runAndKill(dir, start);
      for (const l of lines) {
        if (l.startsWith('put ')) acked.push(Number(l.slice(4)));
        if (l.startsWith('took ')) for (const id of l.slice(5).split(',')) took.add(id);
        if (l.startsWith('taking ')) for (const id of l.slice(7).split(',')) taking.add(id);
      }
      start = Math.max(start, ...acked) + 1000;
    }
    assert.ok(acked.length > 0);
    const ch = new FileChannel(
      { capacity: 10_000_000, transactionCapacity: 1000, checkpointIntervalMs: 60_000, maxFileSize: 64 * 1024, minimumRequiredSpace: 0, keepAliveMs: 0, checkpointOnClose: false },
      { name: 'crash', log, stateDir: dir },
    );
    await ch.start();
    const drained: string[] = [];
    for (;;) {
      const t = await ch.take(1000);
      if (!t.events.length) break;
      for (const e of t.events) drained.push(Buffer.from(e.body).toString());
      await t.commit();
    }
    await ch.stop();
    const left = new Set(drained);
    assert.is(left.size, drained.length, 'no event twice in the backlog');
    for (const id of drained) assert.not.ok(took.has(id), `${id} was taken and committed, yet came back`);
    // every event of every acknowledged batch is either still there or was taken and committed
    for (const b of acked) {
      for (let i = 0; i < 20; i++) assert.ok(left.has(`${b}:${i}`) || taking.has(`${b}:${i}`), `acknowledged ${b}:${i} lost`);
    }
    // order: acknowledged batches come back in the order their puts were acknowledged, events in order within
    const ackIndex = new Map(acked.map((b, i) => [b, i]));
    let last = -1;
    let lastId = '';
    for (const id of drained) {
      const [b, i] = id.split(':').map(Number);
      const k = ackIndex.get(b);
      if (k === undefined) continue; // in flight at a crash: may or may not be there
      assert.ok(k >= last, `${id} after ${lastId}: out of order`);
      if (k === last) assert.ok(i > Number(lastId.split(':')[1]), `${id} after ${lastId} within a batch`);
      last = k;
      lastId = id;
    }
    // batches are atomic: an unacknowledged batch is all there or not at all (minus committed takes)
    const byBatch = new Map<number, number>();
    for (const id of drained) byBatch.set(Number(id.split(':')[0]), (byBatch.get(Number(id.split(':')[0])) ?? 0) + 1);
    for (const [b, n] of byBatch) {
      let takenN = 0;
      for (let i = 0; i < 20; i++) if (taking.has(`${b}:${i}`)) takenN++;
      if (!ackIndex.has(b) && takenN === 0) assert.is(n, 20, `unacknowledged batch ${b} is all or nothing`);
    }
  } finally {
    cleanup();
  }
});

test.run();
