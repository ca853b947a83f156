import { Duplex } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryChannel } from '../src/channels/memory.ts';
import { ChannelProcessor } from '../src/core/channel-processor.ts';
import { Logger } from '../src/core/log.ts';
import { ReplicatingSelector } from '../src/selectors/replicating.ts';
import { NetcatSource } from '../src/sources/netcat.ts';
import { LineClient } from './helpers/net.ts';
import { until } from './helpers/poll.ts';

const quiet = new Logger({ write: () => {} });

async function setup(capacity = 100_000, maxLineLength = 512, log = quiet) {
  const ch = new MemoryChannel('c1', { capacity, transactionCapacity: Math.min(capacity, 1000), byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 });
  await ch.start();
  const processor = new ChannelProcessor([], new ReplicatingSelector([ch], []), quiet);
  const src = new NetcatSource('r1', { bind: '127.0.0.1', port: 0, maxLineLength, ackEveryEvent: true }, { name: 'r1', processor, log, stateDir: '/nonexistent' });
  await src.start();
  return { ch, src };
}

async function drain(ch: MemoryChannel): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const t = await ch.take(1000);
    if (t.events.length === 0) return out;
    for (const e of t.events) out.push(Buffer.from(e.body).toString());
    await t.commit();
  }
}

test('many concurrent clients: every line acknowledged and put once', async () => {
  const { ch, src } = await setup();
  try {
    const clients = await Promise.all(Array.from({ length: 20 }, () => LineClient.connect(src.port)));
    clients.forEach((c, i) => c.send(Array.from({ length: 200 }, (_, j) => `c${i}-${j}`).join('\n') + '\n'));
    await until('4000 OKs', () => clients.every((c) => c.lines().length === 200));
    const got = await drain(ch);
    assert.is(got.length, 4000);
    assert.is(new Set(got).size, 4000);
    // per connection, order is kept
    const c7 = got.filter((l) => l.startsWith('c7-'));
    assert.equal(c7, Array.from({ length: 200 }, (_, j) => `c7-${j}`));
    assert.is(src.counters.get('EventAcceptedCount'), 4000);
    for (const c of clients) c.close();
  } finally {
    await src.stop();
  }
});

test('a full channel holds the client back (no FAILED, no loss) and resumes when room is made', async () => {
  const logged: string[] = [];
  const { ch, src } = await setup(10, 512, new Logger({ write: (l) => logged.push(l) }));
  try {
    const client = await LineClient.connect(src.port);
    client.send(Array.from({ length: 35 }, (_, i) => `l${i}`).join('\n') + '\n');
    await until('the first 10 OKs', () => client.lines().length === 10);
    // the warning gives the channel's own reason, not a bare "channel full"
    await until('the channel\'s reason logged', () => logged.some((l) => l.includes('channel c1 is full: ') && l.includes('holding')));
    const got: string[] = [];
    await until('all 35 lines through the channel', async () => {
      got.push(...(await drain(ch)));
      return got.length === 35;
    }, 20_000, 50);
    await until('35 OKs', () => client.lines().length === 35);
    assert.ok(client.lines().every((l) => l === 'OK'));
    assert.equal(got, Array.from({ length: 35 }, (_, i) => `l${i}`));
    assert.ok(src.counters.get('ChannelWriteFail') > 0, 'the full channel was seen and retried');
  } finally {
    await src.stop();
  }
});

test('max-line-length counts characters (UTF-16 units) including the newline, like Flume', async () => {
  const { ch, src } = await setup(100, 10);
  try {
    const ok = await LineClient.connect(src.port);
    ok.send('ééééééééé\n'); // 9 chars + newline = 10 (18 bytes): accepted
    await until('OK', () => ok.lines().length === 1);
    assert.equal(ok.lines(), ['OK']);
    const bad = await LineClient.connect(src.port);
    bad.send('aaaaaaaaaa\n'); // 10 chars + newline = 11: refused
    await until('closed', () => bad.closed);
    assert.equal(bad.lines(), ['FAILED: Event exceeds the maximum length (10 chars, including newline)']);
    assert.equal(await drain(ch), ['ééééééééé']);
  } finally {
    await src.stop();
  }
});

test('an unterminated last line is delivered at end of input; \\r stays in the body as in Flume', async () => {
  const { ch, src } = await setup();
  try {
    const client = await LineClient.connect(src.port);
    client.send('dos line\r\nlast without newline');
    client.socket.end();
    await until('two OKs', () => client.lines().length === 2);
    assert.equal(await drain(ch), ['dos line\r', 'last without newline']);
  } finally {
    await src.stop();
  }
});

test('a client that does not read its OKs is not read on: the replies owed to it stay bounded, and everything flows once it reads', async () => {
  const { ch, src } = await setup(100_000);
  // a connection whose client does not read: its socket takes 1 KiB of replies, then holds every write
  const held: (() => void)[] = [];
  let reading = false;
  const conn = new Duplex({
    writableHighWaterMark: 1024,
    read() {},
    write(_chunk, _enc, done) {
      if (reading) done();
      else held.push(done);
    },
  });
  try {
    (src as unknown as { accept(s: Duplex): void }).accept(conn);
    const chunk = 'x\n'.repeat(1000);
    for (let i = 0; i < 20; i++) conn.push(chunk);
    await until('the first lines put', () => src.counters.get('EventAcceptedCount') >= 1000);
    // reading is paused while a chunk is handled, and stays paused until the replies drain: give the
    // event loop every chance to read on, then check it did not
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.ok(src.counters.get('EventReceivedCount') <= 2000, `${src.counters.get('EventReceivedCount')} lines read with their replies not taken`);
    reading = true;
    for (const done of held.splice(0)) done();
    await until('every line put once the client reads', () => src.counters.get('EventAcceptedCount') === 20_000);
    assert.is(ch.size, 20_000);
  } finally {
    reading = true;
    for (const done of held.splice(0)) done();
    conn.destroy();
    await src.stop();
  }
});

test('lines in many small pieces come out whole, a character split across pieces included; the length limit still counts characters', async () => {
  const { ch, src } = await setup(100_000, 5000);
  const replies: string[] = [];
  const conn = new Duplex({
    read() {},
    write(chunk, _enc, done) {
      replies.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  try {
    (src as unknown as { accept(s: Duplex): void }).accept(conn);
    // 4998 characters (é is 2 bytes) + newline: under the limit; sent 7 bytes at a time, splitting é in two
    const long = 'é'.repeat(2000) + 'x'.repeat(2998);
    const bytes = Buffer.from(`short\n${long}\nafter\n`);
    for (let i = 0; i < bytes.length; i += 7) conn.push(bytes.subarray(i, i + 7));
    await until('three OKs', () => replies.length === 3);
    assert.equal(replies, ['OK', 'OK', 'OK']);
    assert.equal(await drain(ch), ['short', long, 'after']);
    // a line past the limit in characters, though its pieces each were small: refused once it is too long
    const over = Buffer.from('é'.repeat(5001));
    for (let i = 0; i < over.length; i += 7) conn.push(over.subarray(i, i + 7));
    await until('refused', () => replies.length === 4);
    assert.equal(replies[3], 'FAILED: Event exceeds the maximum length (5000 chars, including newline)');
    assert.equal(await drain(ch), []);
  } finally {
    conn.destroy();
    await src.stop();
  }
});

test.run();
