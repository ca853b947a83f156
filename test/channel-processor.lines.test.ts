import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { Channel } from '../src/channels/channel.ts';
import { FileChannel, FILE_CHANNEL_DEFAULTS } from '../src/channels/file/file-channel.ts';
import { MemoryChannel } from '../src/channels/memory.ts';
import { ChannelProcessor } from '../src/core/channel-processor.ts';
import { LineBatch } from '../src/core/line-batch.ts';
import { Logger } from '../src/core/log.ts';
import { staticInterceptorSpec } from '../src/interceptors/static.ts';
import { MultiplexingSelector } from '../src/selectors/multiplexing.ts';
import { ReplicatingSelector } from '../src/selectors/replicating.ts';
import { tempDir } from './helpers/poll.ts';

/**
 * A source's line batch reaches each channel as the events it stands for:
 * the file channel takes it as lines, the memory channel gets events, an
 * interceptor sees events, and selectors route it by its shared headers.
 * (And a batch of events whose channels are required for some events and
 * optional for others.)
 */
const log = new Logger({ write: () => undefined }, 'error');
const memory = (name: string): MemoryChannel =>
  new MemoryChannel(name, { capacity: 100, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 });

function linesOf(headers: Record<string, string>, ...lines: string[]): LineBatch {
  const buf = Buffer.from(lines.map((l) => `${l}\n`).join(''));
  const b = new LineBatch(headers, lines.length);
  let at = 0;
  for (const l of lines) {
    b.add(buf, at, at + Buffer.byteLength(l));
    at += Buffer.byteLength(l) + 1;
  }
  return b;
}

async function drain(ch: Channel): Promise<{ body: string; headers: Record<string, string> }[]> {
  const t = await ch.take(100);
  const out = t.events.map((e) => ({ body: Buffer.from(e.body).toString(), headers: { ...e.headers } }));
  await t.commit();
  return out;
}

test('a line batch goes to the file channel as lines and to the memory channel as events, with the same result', async () => {
  const { dir, cleanup } = tempDir();
  const file = new FileChannel({ ...FILE_CHANNEL_DEFAULTS, minimumRequiredSpace: 0 }, { name: 'f1', log, stateDir: join(dir, 'f1') });
  const mem = memory('m1');
  await file.start();
  await mem.start();
  try {
    const p = new ChannelProcessor([], new ReplicatingSelector([file, mem], []), log);
    assert.is(p.takesLines, false, 'the memory channel takes events: the source should make them as it reads');
    assert.is(new ChannelProcessor([], new ReplicatingSelector([file], []), log).takesLines, true);
    const batch = linesOf({ file: '/var/log/a.log' }, 'one', '', 'thrée');
    await p.process(batch);
    const want = [{ body: 'one', headers: { file: '/var/log/a.log' } }, { body: '', headers: { file: '/var/log/a.log' } }, { body: 'thrée', headers: { file: '/var/log/a.log' } }];
    assert.equal(await drain(file), want);
    assert.equal(await drain(mem), want);
    assert.is(batch.viewed, true, 'the memory channel holds views of the read buffer: the source must not reuse it');
  } finally {
    await file.stop();
    await mem.stop();
    cleanup();
  }
});

test('with an interceptor the lines are events first; a multiplexing selector routes the batch by its headers', async () => {
  const a = memory('a');
  const b = memory('b');
  await a.start();
  await b.start();
  const sel = new MultiplexingSelector('kind', new Map([['x', { required: [a], optional: [] }], ['y', { required: [b], optional: [] }]]), { required: [b], optional: [] }, [a, b]);
  const p = new ChannelProcessor([staticInterceptorSpec.create({ key: 'env', value: 'prod', preserveExisting: true })], sel, log);
  assert.is(p.takesLines, false);
  await p.process(linesOf({ kind: 'x' }, 'l1', 'l2'));
  assert.equal(await drain(a), [{ body: 'l1', headers: { kind: 'x', env: 'prod' } }, { body: 'l2', headers: { kind: 'x', env: 'prod' } }]);
  assert.equal(await drain(b), []);
  // without interceptors: routed by the shared headers, counted as routed or not per line
  const q = new ChannelProcessor([], sel, log);
  await q.process(linesOf({ kind: 'y' }, 'm1', 'm2', 'm3'));
  assert.equal((await drain(b)).map((e) => e.body), ['m1', 'm2', 'm3']);
  const none = new MultiplexingSelector('kind', new Map(), { required: [], optional: [] }, [a]);
  await new ChannelProcessor([], none, log).process(linesOf({ kind: 'z' }, 'n1', 'n2'));
  assert.is(none.unroutedEvents, 2, 'every line of an unrouted batch is counted');
  await a.stop();
  await b.stop();
});

test('a channel required for some events of a batch and optional for others gets each list once', async () => {
  const c1 = memory('c1');
  const c2 = memory('c2');
  await c1.start();
  await c2.start();
  const sel = new MultiplexingSelector('kind', new Map([['x', { required: [c1], optional: [c2] }], ['y', { required: [c2], optional: [] }]]), { required: [c1], optional: [] }, [c1, c2]);
  const p = new ChannelProcessor([], sel, log);
  const ev = (body: string, kind: string) => ({ headers: { kind }, body: Buffer.from(body) });
  await p.process([ev('x1', 'x'), ev('y1', 'y')]);
  assert.equal((await drain(c1)).map((e) => e.body), ['x1']);
  assert.equal((await drain(c2)).map((e) => e.body).sort(), ['x1', 'y1'], 'y1 as required, x1 as optional: each once');
  await c1.stop();
  await c2.stop();
});

test.run();
