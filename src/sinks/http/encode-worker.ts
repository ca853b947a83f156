/**
 * The encoder thread's body (see encode-thread.ts): turns the file channel
 * entries of a take into request bodies — ndjson or json, cut at the byte
 * cap, gzipped when asked — off the agent's event loop, which meanwhile reads,
 * writes the channel and talks HTTP. Bytes in, bytes out; the only state is
 * reused memory: the output buffer and the body buffers the sink gave back.
 */
import { parentPort } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { encodeRuns, type Scratch } from './encode.ts';
import { BufferPool, type EncodeReply, type EncodeRequest } from './encode-thread.ts';

const port = parentPort;
if (!port) throw new Error('encode-worker.ts runs as a worker thread (see encode-thread.ts)');
const scratch: Scratch = {};
const bodies = new BufferPool();

port.on('message', (m: EncodeRequest) => {
  for (const b of m.returned) bodies.give(b);
  try {
    const entries = Buffer.from(m.entries, 0, m.length);
    const chunks = encodeRuns(m.runs.map((r) => ({ ...r, buf: entries })), m.format, m.maxBytes, scratch);
    // each body leaves the reused output buffer for memory that the reply hands over without a copy
    const out = chunks.map((c) => {
      const bytes = m.gzipLevel > 0 ? gzipSync(c.body, { level: m.gzipLevel }) : c.body;
      const body = bodies.take(bytes.byteLength);
      body.set(bytes);
      return { body: body.buffer, length: bytes.byteLength, first: c.first, count: c.count };
    });
    const reply: EncodeReply = { id: m.id, chunks: out, entries: m.entries };
    port.postMessage(reply, [m.entries, ...out.map((c) => c.body)]);
  } catch (err) {
    const reply: EncodeReply = { id: m.id, error: (err as Error).message, entries: m.entries };
    port.postMessage(reply, [m.entries]);
  }
});
