/**
 * The HTTP sink: each batch the runner hands over becomes one request (or
 * several when the byte cap splits it), sent over keep-alive connections,
 * optionally gzipped. The response status goes through the status policy:
 * commit, reject (drop or dead-letter, counted) or retry.
 *
 * Retries: a failing request is retried inside `deliver` while the backoff is
 * short (quick blips never reach the channel), then `deliver` throws a
 * `DeliveryError` carrying the next backoff as `retryAfterMs`, so the runner
 * rolls the batch back and waits — a long outage shows as backoff on the
 * dashboard and the batch stays in the channel.
 */
import { gzip as gzipCb, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DeliveryResult, Sink, SinkDeps } from '../sink.ts';
import type { FlumeEvent } from '../../core/event.ts';
import type { Logger } from '../../core/log.ts';
import type { WritesFiles } from '../../core/lifecycle.ts';
import { DeliveryError, FlumeError } from '../../core/errors.ts';
import { CounterGroup, SINK_COUNTERS } from '../../metrics/counters.ts';
import { encodeBatch, encodeRuns, type EncodedChunk, type Scratch } from './encode.ts';
import type { EntryRun } from '../../channels/file/framing.ts';
import { StatusPolicy, type StatusDecision } from './policy.ts';
import { Backoff, parseRetryAfter, sleep } from './retry.ts';
import { HttpClient, TransportError, type HttpResponse } from './client.ts';
import { DeadLetterDir } from './dead-letter.ts';
import { EncodeThread, EncodeThreadError } from './encode-thread.ts';
import type { HttpSinkOptions } from './spec.ts';

const gzipAsync = promisify(gzipCb);
/**
 * Below this size a body is gzipped on the event loop: the thread-pool hop of
 * async zlib costs more than compressing ~20 KiB (measured, BENCHMARKS.md, HTTP sink);
 * bigger bodies go to the pool so the loop is never blocked for long.
 */
const SYNC_GZIP_MAX = 128 * 1024;

function gzip(body: Buffer, level: number): Buffer | Promise<Buffer> {
  return body.byteLength <= SYNC_GZIP_MAX ? gzipSync(body, { level }) : gzipAsync(body, { level });
}

/** flume-tail's own sink counters, next to Flume's SINK_COUNTERS. */
export const HTTP_SINK_COUNTERS = [
  'RequestCount', 'RequestBytes', 'ResponseCount2xx', 'ResponseCount4xx', 'ResponseCount5xx', 'ResponseCountOther',
  'RetryCount', 'BackoffMs', 'LastStatus', 'EventsDropped', 'EventsDeadLettered',
] as const;

/**
 * Consecutive failed attempts retried inside `deliver` before the wait is
 * handed to the runner. Counted across deliveries: once in an outage, each
 * `deliver` makes one attempt and throws, so the runner's backoff shows.
 */
export const INLINE_RETRIES = 3;
/** A backoff longer than this is never slept inside `deliver`: the runner waits instead. */
export const INLINE_MAX_DELAY_MS = 1000;

export class HttpSink implements Sink, WritesFiles {
  readonly counters: CounterGroup;
  private readonly log: Logger;
  private readonly policy: StatusPolicy;
  private readonly backoff: Backoff;
  private readonly endpoint: URL;
  private readonly baseHeaders: Record<string, string>;
  private readonly secrets: string[];
  private readonly dlq?: DeadLetterDir;
  private readonly permits: Semaphore;
  private client?: HttpClient;
  private stopping = new AbortController();
  private running = false;
  /** A committing status with `backoff = true` pauses the next request until then. */
  private pauseUntil = 0;
  private retryAt = 0;
  private lastError = '';
  private inFlight = 0;
  /** Encode buffers not in use by a delivery; a delivery takes one and gives it back when it ends. */
  private readonly scratch: Scratch[] = [];
  /** Encodes takes of the file channel off the event loop (encodeThread = true), until it fails. */
  private thread?: EncodeThread;

  /** The channel's takes come as records, so the encoder thread will be used: it is started with the sink. */
  private readonly rawTakes: boolean;

  constructor(readonly name: string, private readonly opts: HttpSinkOptions, deps: Pick<SinkDeps, 'log' | 'rawTakes'>) {
    this.log = deps.log;
    this.rawTakes = deps.rawTakes === true;
    this.counters = new CounterGroup('SINK', name, 'http', [...SINK_COUNTERS, ...HTTP_SINK_COUNTERS]);
    this.policy = new StatusPolicy(opts.policy);
    this.backoff = new Backoff({ initialMs: opts.initialBackoffMs, maxMs: opts.maxBackoffMs, random: opts.random });
    this.endpoint = new URL(opts.endpoint);
    this.permits = new Semaphore(opts.concurrency);
    if (opts.dlqDir) this.dlq = new DeadLetterDir(opts.dlqDir, name);

    const h: Record<string, string> = {
      'content-type': opts.contentType,
      accept: opts.accept,
      'user-agent': 'flume-tail',
    };
    if (opts.compression === 'gzip') h['content-encoding'] = 'gzip';
    for (const [k, v] of Object.entries(opts.headers)) h[k.toLowerCase()] = v;
    this.baseHeaders = h;
    // anything that could be a credential is masked in every message we produce
    this.secrets = [...Object.values(opts.headers), decodeURIComponent(this.endpoint.password), decodeURIComponent(this.endpoint.username)]
      .filter((s) => s.length >= 4)
      .sort((a, b) => b.length - a.length);

    this.counters.details = () => ({
      endpoint: safeEndpoint(this.endpoint),
      format: opts.format,
      compression: opts.compression,
      state: !this.running ? 'stopped' : this.retryAt > Date.now() ? 'backoff' : this.backoff.failures > 0 ? 'retrying' : 'ok',
      backoffMs: this.backoff.currentMs,
      consecutiveFailures: this.backoff.failures,
      retryAt: this.retryAt > Date.now() ? this.retryAt : null,
      lastStatus: this.counters.get('LastStatus'),
      lastError: this.lastError,
      inFlight: this.inFlight,
      // where ndjson/json bodies of file channel takes are made (encodeThread)
      encoder: this.thread && !this.thread.failure ? 'thread' : 'event loop',
    });
  }

  writesUnder(): readonly string[] {
    return this.opts.dlqDir ? [resolve(this.opts.dlqDir)] : [];
  }

  async start(): Promise<void> {
    let ca: Buffer | undefined;
    if (this.opts.tls.caFile) {
      try {
        ca = readFileSync(this.opts.tls.caFile);
      } catch (err) {
        throw new FlumeError('TLS_CA_UNREADABLE', `sink ${this.name}: cannot read tls.caFile ${this.opts.tls.caFile}: ${(err as Error).message}`, { cause: err });
      }
    }
    this.stopping = new AbortController();
    this.client = new HttpClient(
      {
        endpoint: this.endpoint,
        connectTimeoutMs: this.opts.connectTimeoutMs,
        requestTimeoutMs: this.opts.requestTimeoutMs,
        maxSockets: this.opts.concurrency,
        ca,
        insecure: this.opts.tls.insecure,
      },
      this.counters,
    );
    if (this.opts.encodeThread && this.opts.format !== 'text') {
      this.thread = new EncodeThread(this.opts.encodeThreadModule);
      // booting a thread takes tens of ms: overlap it with the agent's own start, not the first delivery
      if (this.rawTakes) this.thread.prepare();
    }
    this.running = true;
    this.counters.startTime = Date.now();
    this.counters.stopTime = 0;
    if (this.opts.tls.insecure) this.log.warn(`tls.insecure = true: the certificate of ${safeEndpoint(this.endpoint)} is not verified`);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    this.client?.close();
    this.client = undefined;
    await this.thread?.close();
    this.thread = undefined;
    this.counters.stopTime = Date.now();
  }

  async deliver(events: FlumeEvent[]): Promise<DeliveryResult> {
    if (events.length === 0) return { rejected: 0 };
    return this.encodeAndSend(() => events, (scratch) => encodeBatch(events, this.opts.format, this.opts.maxBatchBytes, scratch));
  }

  /**
   * ndjson and json straight from the file channel's records (see
   * Sink.deliverRaw): the same request bodies, without decoding the events
   * (decoded only if the endpoint rejects some and the policy must keep them).
   */
  async deliverRaw(runs: readonly EntryRun[], events: () => FlumeEvent[]): Promise<DeliveryResult> {
    const format = this.opts.format;
    if (format === 'text') return this.deliver(events());
    let count = 0;
    for (const r of runs) count += r.count;
    // a small take is encoded here: the hop to the thread and back would cost it more (encodeThreadMinBatch)
    const thread = count >= this.opts.encodeThreadMinBatch ? this.thread : undefined;
    const chunks = thread && (await this.encodeOnThread(thread, runs, format));
    if (thread && chunks) {
      try {
        return { rejected: chunks.length ? await this.send(events, chunks) : 0 };
      } finally {
        // every request of this delivery has ended: the thread may reuse the bodies' memory
        thread.release(chunks);
      }
    }
    return this.encodeAndSend(events, (scratch) => encodeRuns(runs, format, this.opts.maxBatchBytes, scratch));
  }

  /**
   * The take's bodies from the encoder thread, or undefined when it could not
   * make them: the batch is not lost, the caller encodes it on the event loop,
   * and so is every later one once the thread is gone (logged once).
   */
  private async encodeOnThread(thread: EncodeThread, runs: readonly EntryRun[], format: 'ndjson' | 'json'): Promise<EncodedChunk[] | undefined> {
    const level = this.opts.compression === 'gzip' ? this.opts.compressionLevel : 0;
    try {
      return (await thread.encode(runs, format, this.opts.maxBatchBytes, level)).map((c) => ({ ...c, compressed: level > 0 }));
    } catch (err) {
      if (!(err instanceof EncodeThreadError)) throw err;
      // the thread was closed by stop(): the batch goes back to the channel, as any other in flight
      if (!this.running) throw new DeliveryError(this.name, 'the sink is stopped; the batch stays in the channel');
      if (thread.failure && this.thread === thread) {
        this.thread = undefined;
        this.log.warn(`${thread.failure.message}; encoding on the event loop from now on`);
      } else if (!thread.failure) {
        this.log.rateLimited('warn', `${this.name}:encode-thread`, `${err.message}; this batch is encoded on the event loop`);
      }
      return undefined;
    }
  }

  /** Encodes into a scratch buffer of the pool and sends; the scratch goes back once every request ended. */
  private async encodeAndSend(events: () => FlumeEvent[], encode: (scratch: Scratch) => EncodedChunk[]): Promise<DeliveryResult> {
    const scratch = this.scratch.pop() ?? {};
    try {
      const chunks = encode(scratch);
      return { rejected: chunks.length ? await this.send(events, chunks) : 0 };
    } finally {
      // every request of this delivery has ended: its bytes may be overwritten
      if (this.scratch.length < this.opts.concurrency) this.scratch.push(scratch);
    }
  }

  /** Resolves with the number of events rejected by policy (dropped or dead-lettered). */
  private async send(events: () => FlumeEvent[], chunks: EncodedChunk[]): Promise<number> {
    if (chunks.length === 1) return this.sendChunk(events, chunks[0]);
    let rejected = 0;
    // several requests: up to `concurrency` at once, in batch order; all must succeed
    let next = 0;
    let failure: unknown;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < chunks.length) {
        const chunk = chunks[next++];
        try {
          rejected += await this.sendChunk(events, chunk);
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, chunks.length) }, worker));
    if (failure !== undefined) throw failure;
    return rejected;
  }

  /** Sends one request until it is committed or rejected, or throws for the runner to retry later. */
  private async sendChunk(events: () => FlumeEvent[], chunk: EncodedChunk): Promise<number> {
    const body = this.opts.compression === 'gzip' && !chunk.compressed ? await gzip(chunk.body, this.opts.compressionLevel) : chunk.body;
    for (let attempt = 0; ; attempt++) {
      await this.waitPause();
      const client = this.client;
      if (!this.running || !client) throw new DeliveryError(this.name, 'the sink is stopped; the batch stays in the channel');

      let res: HttpResponse | undefined;
      let failure: string;
      let retryAfterMs: number | undefined;
      await this.permits.acquire();
      this.inFlight++;
      this.counters.inc('RequestCount');
      this.counters.inc('RequestBytes', body.byteLength);
      try {
        res = await client.post(body, { ...this.baseHeaders });
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        failure = err.message;
      } finally {
        this.inFlight--;
        this.permits.release();
      }

      if (res) {
        this.countResponse(res.status);
        const decision = this.policy.decide(res.status);
        if (decision.action !== 'retry') return this.settle(events, chunk, res, decision);
        failure = `HTTP ${res.status}${res.snippet ? ` ${oneLine(res.snippet)}` : ''}`;
        retryAfterMs = parseRetryAfter(res.headers['retry-after']);
      } else {
        this.counters.set('LastStatus', 0);
      }

      // a failed attempt: back off, inline while short, else hand the wait to the runner
      this.counters.inc('EventWriteFail', chunk.count);
      this.counters.inc('RetryCount');
      const delay = this.backoff.fail(retryAfterMs);
      this.counters.set('BackoffMs', delay);
      this.lastError = this.redact(failure!);
      const msg = `${safeEndpoint(this.endpoint)}: ${this.lastError} (${chunk.count} events, attempt ${attempt + 1}); retrying in ${delay} ms`;
      if (this.backoff.failures <= INLINE_RETRIES && delay <= INLINE_MAX_DELAY_MS && this.running) {
        this.log.rateLimited('debug', `${this.name}:retry`, msg);
        this.retryAt = Date.now() + delay;
        await sleep(delay, this.stopping.signal);
        continue;
      }
      this.retryAt = Date.now() + delay;
      // the runner warns about the failed delivery (one line, with its own count of failures in a row)
      this.log.rateLimited('debug', `${this.name}:backoff`, `${msg}; the batch stays in the channel`);
      throw new DeliveryError(this.name, `${safeEndpoint(this.endpoint)}: ${this.lastError}`, { retryAfterMs: delay });
    }
  }

  /** A status the policy commits: success, or a rejection that is dropped or dead-lettered (never silently). */
  private async settle(events: () => FlumeEvent[], chunk: EncodedChunk, res: HttpResponse, decision: StatusDecision): Promise<number> {
    if (decision.action === 'reject') {
      const slice = events().slice(chunk.first, chunk.first + chunk.count);
      const why = this.redact(`HTTP ${res.status}${res.snippet ? ` ${oneLine(res.snippet)}` : ''}`);
      this.lastError = why;
      this.counters.inc('EventWriteFail', chunk.count);
      if (this.dlq) {
        let path: string;
        try {
          path = await this.dlq.write(slice, res.status);
        } catch (err) {
          // the events must not vanish: roll back and try again later
          const delay = this.backoff.fail();
          this.counters.set('BackoffMs', delay);
          this.retryAt = Date.now() + delay;
          throw new DeliveryError(this.name, `${why}, and writing the dead-letter file in ${this.opts.dlqDir} failed: ${(err as Error).message}`, { cause: err, retryAfterMs: delay });
        }
        this.counters.inc('EventsDeadLettered', chunk.count);
        this.log.rateLimited('warn', `${this.name}:dlq`, `${safeEndpoint(this.endpoint)} rejected ${chunk.count} events (${why}); written to ${path}`);
      } else {
        this.counters.inc('EventsDropped', chunk.count);
        this.log.rateLimited('warn', `${this.name}:drop`, `${safeEndpoint(this.endpoint)} rejected ${chunk.count} events (${why}); dropped as the policy says (set dlqDir to keep them)`);
      }
    }
    if (decision.backoff) {
      const delay = this.backoff.fail();
      this.counters.set('BackoffMs', delay);
      this.pauseUntil = Date.now() + delay;
      this.retryAt = this.pauseUntil;
    } else {
      this.backoff.reset();
      this.counters.set('BackoffMs', 0);
      this.retryAt = 0;
      if (decision.action === 'commit') this.lastError = '';
    }
    return decision.action === 'reject' ? chunk.count : 0;
  }

  private async waitPause(): Promise<void> {
    const wait = this.pauseUntil - Date.now();
    if (wait > 0) await sleep(wait, this.stopping.signal);
  }

  private countResponse(status: number): void {
    this.counters.set('LastStatus', status);
    const cls = Math.floor(status / 100);
    this.counters.inc(cls === 2 ? 'ResponseCount2xx' : cls === 4 ? 'ResponseCount4xx' : cls === 5 ? 'ResponseCount5xx' : 'ResponseCountOther');
  }

  /** Masks header values and URL credentials wherever they appear (a server may echo them back). */
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }
}

/** The endpoint for messages: no credentials, no query (API keys often live there). */
export function safeEndpoint(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
}

function oneLine(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}

/** FIFO permits for requests in flight. */
class Semaphore {
  private waiting: Array<() => void> = [];
  constructor(private free: number) {}

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
