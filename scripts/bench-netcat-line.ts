/**
 * One long line through the netcat source: N MB in 64 KiB pieces (as a TCP
 * socket hands them over), then its newline, into a memory channel; the time
 * until the source acknowledged it, against the floor measured in the same
 * run (joining the same pieces into one buffer, once). A line joined again at
 * every piece costs time quadratic in its length (5.8 s for 20 MB, where the
 * floor is a few ms); one joined once costs a few times the floor.
 *   node --import tsx scripts/bench-netcat-line.ts [MB ...]   (default 20 100)
 * Each size is sent twice: in ASCII, and in 2-byte characters (é) with a
 * max-line-length below its bytes but above its characters, so the source
 * counts characters as the pieces come. The source reads from an in-memory
 * stream (its private accept), so no socket buffer paces the pieces.
 */
import { Duplex } from 'node:stream';
import { MemoryChannel } from '../src/channels/memory.ts';
import { ChannelProcessor } from '../src/core/channel-processor.ts';
import { Logger } from '../src/core/log.ts';
import { ReplicatingSelector } from '../src/selectors/replicating.ts';
import { NetcatSource } from '../src/sources/netcat.ts';

const PIECE = 64 * 1024;
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const quiet = new Logger({ write: () => undefined });

/** The floor: the pieces joined into one buffer, once. */
function floorMs(pieces: Buffer[]): number {
  const t0 = performance.now();
  Buffer.concat(pieces);
  return performance.now() - t0;
}

async function throughSource(pieces: Buffer[], mb: number, maxLineLength: number): Promise<number> {
  const ch = new MemoryChannel('c1', { capacity: 10, transactionCapacity: 10, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 0 });
  await ch.start();
  const processor = new ChannelProcessor([], new ReplicatingSelector([ch], []), quiet);
  const src = new NetcatSource('r1', { bind: '127.0.0.1', port: 0, maxLineLength, ackEveryEvent: true }, { name: 'r1', processor, log: quiet, stateDir: '/nonexistent' });
  await src.start();
  let acked = false;
  const conn = new Duplex({
    read() {},
    write(_chunk, _enc, done) {
      acked = true;
      done();
    },
  });
  try {
    (src as unknown as { accept(s: Duplex): void }).accept(conn);
    const t0 = performance.now();
    for (let i = 0; i < pieces.length; i++) {
      conn.push(pieces[i]);
      // let the source take them as a socket would hand them over, a few at a time
      if (i % 16 === 15) await new Promise((r) => setImmediate(r));
    }
    conn.push(Buffer.from('\n'));
    while (!acked) await new Promise((r) => setImmediate(r));
    const ms = performance.now() - t0;
    const t = await ch.take(1);
    if (t.count !== 1 || t.events[0].body.byteLength !== mb * 1024 * 1024) throw new Error('the line did not arrive whole');
    await t.commit();
    return ms;
  } finally {
    conn.destroy();
    await src.stop();
    await ch.stop();
  }
}

for (const mb of sizes.length ? sizes : [20, 100]) {
  const bytes = mb * 1024 * 1024;
  for (const [kind, fill, maxLineLength] of [['ASCII', 'a', bytes + 1], ['2-byte characters', 'é', bytes]] as const) {
    const pieces = Array.from({ length: bytes / PIECE }, () => Buffer.alloc(PIECE, fill));
    const floor = [floorMs(pieces), floorMs(pieces), floorMs(pieces)].sort((a, b) => a - b)[1];
    const ms = await throughSource(pieces, mb, maxLineLength);
    console.log(`${mb} MB line of ${kind} in 64 KiB pieces: ${ms.toFixed(0)} ms through the netcat source; floor (joining the pieces once, median of 3) ${floor.toFixed(1)} ms; ${(ms / floor).toFixed(1)}x the floor; RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
  }
}
