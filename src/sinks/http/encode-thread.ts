/**
 * An encoder on a thread of its own: the HTTP sink hands it the file channel
 * entries of a take and gets the request bodies back, so the JSON escaping
 * and gzip of every line (a third of the agent's event loop when it ran there,
 * BENCHMARKS.md) run on the machine's other core while the event loop reads
 * files, writes the channel and talks HTTP.
 *
 * The entries are copied into memory the message hands over (a take's
 * records lie in the channel's shared read buffers, which stay where they
 * are); the bodies come back the same way. Both kinds of buffer go back and
 * forth and are reused (BufferPool): a fresh half-megabyte per batch and side
 * would be freed only at the next garbage collection, and an event loop that
 * no longer encodes collects rarely, so it showed as tens of MB of RSS.
 * Requests are answered in order.
 * If the thread cannot start or dies, every pending and later call rejects
 * with `EncodeThreadError` and the sink encodes on the event loop instead.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FlumeError } from '../../core/errors.ts';
import { runBlock, type EntryRun } from '../../channels/file/framing.ts';
import type { EncodedChunk } from './encode.ts';

export interface EncodeRequest {
  id: number;
  /**
   * The entries of the take, back to back, as the file channel stores them,
   * in the first `length` bytes (handed over; they come back in the reply).
   * Messages carry bare ArrayBuffers, never typed-array views: Deno clones a
   * view byte by byte even when its buffer is transferred (37 ms for 440 KB,
   * against 0.3 ms for the buffer alone).
   */
  entries: ArrayBuffer;
  length: number;
  /**
   * Where each run lies in `entries`. A run whose first entry stands for its
   * frame's first entry's headers (SAME_AS_FIRST) has that header block
   * copied just before it (`blockAt`), since its frame is not sent.
   */
  runs: { from: number; to: number; count: number; blockAt?: number; blockCount?: number }[];
  /** Body buffers the sink is done with, for the thread to reuse. */
  returned: ArrayBuffer[];
  format: 'ndjson' | 'json';
  maxBytes: number;
  /** 0: no compression. */
  gzipLevel: number;
}

export type EncodeReply =
  | { id: number; entries: ArrayBuffer; chunks: { body: ArrayBuffer; length: number; first: number; count: number }[]; error?: undefined }
  | { id: number; entries: ArrayBuffer; error: string; chunks?: undefined };

/** Buffers larger than this are not kept: one huge event must not pin its memory for good. */
const MAX_POOLED = 4 << 20;

/** Transferable buffers kept for reuse: a few, each taken whole for anything that fits. */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  constructor(private readonly keep = 8) {}

  /** `size` bytes at the start of a pooled buffer, or of a new one rounded up (so the next, slightly bigger batch fits too). */
  take(size: number): Uint8Array<ArrayBuffer> {
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i].byteLength >= size) return new Uint8Array(this.free.splice(i, 1)[0], 0, size);
    }
    return new Uint8Array(new ArrayBuffer(Math.max(256 * 1024, Math.ceil((size * 1.25) / 65536) * 65536)), 0, size);
  }

  give(b: ArrayBuffer): void {
    if (b.byteLength > 0 && b.byteLength <= MAX_POOLED && this.free.length < this.keep) this.free.push(b);
  }
}

export class EncodeThreadError extends FlumeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ENCODE_THREAD', message, options);
  }
}

type Pending = { resolve: (c: EncodedChunk[]) => void; reject: (e: Error) => void };

/**
 * The worker's module. From the sources (tsx, Bun, Deno) it is the `.ts`
 * beside this file; the JS build puts every module, `encode-worker.mjs` too,
 * in one folder; Bun's compiled binary holds it as an entry point of its own
 * (package.json, build:bin) at its path under src/, as `.js`, beside the
 * binary's own root module.
 */
function workerModule(): URL {
  const here = import.meta.url;
  if (here.startsWith('file:///$bunfs/') || here.startsWith('file:///B:/~BUN/')) return new URL('./sinks/http/encode-worker.js', here);
  return new URL(here.endsWith('.ts') ? './encode-worker.ts' : './encode-worker.mjs', here);
}

/**
 * tsx's ESM API module. A test runner may have loaded this file as CommonJS,
 * with no `import.meta.resolve`: then `require`'s answer is tsx's CommonJS
 * build, whose ESM twin lies beside it.
 */
function tsxApi(): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
}

function startWorker(url: URL): Worker {
  const onNodeFromSources = url.pathname.endsWith('.ts') && !('Bun' in globalThis) && !('Deno' in globalThis);
  if (!onNodeFromSources) return new Worker(url);
  // Node runs TypeScript through tsx, whose loader a worker does not inherit: the worker registers it first
  const tsx = tsxApi();
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true });
}

export class EncodeThread {
  /** `module`: the worker's module, for tests; the one beside this file by default. */
  constructor(private readonly module?: URL) {}

  private worker?: Worker;
  private failed?: EncodeThreadError;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly entryBuffers = new BufferPool();
  /** Body buffers given back by `release`, sent to the thread with the next request. */
  private returned: ArrayBuffer[] = [];

  /** Why the thread is unusable, once it is (the sink then encodes on the event loop). */
  get failure(): EncodeThreadError | undefined {
    return this.failed;
  }

  /** Starts the thread now rather than at the first `encode`; a failure shows as `failure`. */
  prepare(): void {
    this.running();
  }

  /** The thread, started if need be; undefined once it failed. */
  private running(): Worker | undefined {
    if (this.failed) return undefined;
    try {
      return this.worker ?? this.start();
    } catch (err) {
      this.fail(`the encoder thread did not start: ${(err as Error).message}`, err);
      return undefined;
    }
  }

  encode(runs: readonly EntryRun[], format: 'ndjson' | 'json', maxBytes: number, gzipLevel: number): Promise<EncodedChunk[]> {
    const worker = this.running();
    if (!worker) return Promise.reject(this.failed);
    let bytes = 0;
    const blocks = runs.map((r) => {
      const block = runBlock(r);
      bytes += r.to - r.from + block.len;
      return block;
    });
    const entries = this.entryBuffers.take(bytes);
    const placed: EncodeRequest['runs'] = [];
    let at = 0;
    for (let i = 0; i < runs.length; i++) {
      const r = runs[i];
      const block = blocks[i];
      let blockAt: number | undefined;
      if (block.count >= 0) {
        entries.set(r.buf.subarray(block.at, block.at + block.len), at);
        blockAt = at;
        at += block.len;
      }
      entries.set(r.buf.subarray(r.from, r.to), at);
      placed.push(blockAt === undefined ? { from: at, to: at + r.to - r.from, count: r.count } : { from: at, to: at + r.to - r.from, count: r.count, blockAt, blockCount: block.count });
      at += r.to - r.from;
    }
    const id = this.nextId++;
    const returned = this.returned;
    this.returned = [];
    const req: EncodeRequest = { id, entries: entries.buffer, length: bytes, runs: placed, returned, format, maxBytes, gzipLevel };
    return new Promise<EncodedChunk[]>((resolve, reject) => {
      // an awaited answer keeps the process alive; an idle thread does not (see start)
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      worker.postMessage(req, [entries.buffer, ...returned]);
    });
  }

  /** The sink is done with these bodies (their requests ended): the thread may reuse their memory. */
  release(chunks: readonly EncodedChunk[]): void {
    for (const c of chunks) if (this.returned.length < 8) this.returned.push(c.body.buffer as ArrayBuffer);
  }

  /** Ends the thread; calls still pending reject. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.rejectAll(new EncodeThreadError('the encoder thread was stopped'));
    if (w) await w.terminate();
  }

  private start(): Worker {
    const w = startWorker(this.module ?? workerModule());
    w.on('message', (m: EncodeReply) => this.answer(m));
    w.on('error', (err: Error) => this.fail(`the encoder thread failed: ${err.message}`, err));
    w.on('exit', (code) => {
      if (this.worker === w) this.fail(`the encoder thread exited (code ${code})`);
    });
    // an idle thread never keeps the agent alive; it is ref'd while an answer is awaited
    w.unref();
    this.worker = w;
    return w;
  }

  private answer(m: EncodeReply): void {
    this.entryBuffers.give(m.entries);
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (m.error !== undefined) {
      p.reject(new EncodeThreadError(`the encoder thread could not encode a batch: ${m.error}`));
      return;
    }
    p.resolve(m.chunks.map((c) => ({ body: Buffer.from(c.body, 0, c.length), first: c.first, count: c.count })));
  }

  private fail(message: string, cause?: unknown): EncodeThreadError {
    this.failed ??= new EncodeThreadError(message, { cause });
    const w = this.worker;
    this.worker = undefined;
    if (w) void w.terminate();
    this.rejectAll(this.failed);
    return this.failed;
  }

  private rejectAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
