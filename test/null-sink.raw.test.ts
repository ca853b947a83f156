import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FileChannel } from '../src/channels/file/file-channel.ts';
import { eventOf } from '../src/core/event.ts';
import { Logger } from '../src/core/log.ts';
import { DEFAULT_RUNNER, SinkRunner } from '../src/core/sink-runner.ts';
import { NullSink } from '../src/sinks/null.ts';
import { tempDir, until } from './helpers/poll.ts';

const log = new Logger({ write: () => undefined }, 'error');

test('the null sink drains a file channel from its records: every event counted, body bytes counted, nothing decoded', async () => {
  const { dir, cleanup } = tempDir();
  const ch = new FileChannel(
    { capacity: 100_000, transactionCapacity: 1000, checkpointIntervalMs: 60_000, maxFileSize: 1 << 20, minimumRequiredSpace: 0, keepAliveMs: 0, checkpointOnClose: false },
    { name: 'c1', log, stateDir: dir },
  );
  await ch.start();
  const sink = new NullSink('k1');
  let decoded = 0;
  const take = ch.take.bind(ch);
  // count decodes: reading `events` of a take is what the raw path avoids
  ch.take = async (max) => {
    const t = await take(max);
    return {
      get count() { return t.count; },
      get raw() { return t.raw; },
      get events() { decoded++; return t.events; },
      commit: () => t.commit(),
      rollback: () => t.rollback(),
    };
  };
  const runner = new SinkRunner(sink, ch, { ...DEFAULT_RUNNER, batchSize: 500 }, log);
  try {
    let bytes = 0;
    for (let i = 0; i < 5000; i += 1000) {
      // half the batches with one header block for all (a frame that says so: its runs are counted without a walk)
      const batch = Array.from({ length: 1000 }, (_, j) => eventOf(`line ${i + j} ${'z'.repeat((i + j) % 50)}`, i % 2000 === 0 ? { file: '/a.log' } : { file: '/a.log', n: String(j) }));
      for (const e of batch) bytes += e.body.byteLength;
      await ch.put(batch);
    }
    await runner.start();
    await until('all drained', () => sink.counters.get('EventDrainSuccessCount') === 5000);
    assert.is(sink.counters.get('BytesDiscarded'), bytes);
    assert.is(decoded, 0);
    assert.is(ch.size, 0);
  } finally {
    await runner.stop();
    await ch.stop();
    cleanup();
  }
});

test.run();
