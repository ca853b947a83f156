/**
 * `type = http`: Flume's HTTP sink keys plus flume-tail's batching,
 * compression, retry, dead-letter, header and TLS keys. Parsing only reads
 * keys and records problems; files are read when the sink starts.
 */
import type { SinkSpec } from '../sink.ts';
import type { ComponentContext } from '../../config/context.ts';
import { DEFAULT_CONTENT_TYPE, FORMATS, type BodyFormat } from './encode.ts';
import { FLUME_POLICY_DEFAULTS, statusKey, type StatusPolicyOptions } from './policy.ts';
import { HttpSink } from './http-sink.ts';

/**
 * The encoder thread is the default except under Deno without gzip. Deno runs
 * a worker as a runtime of its own, 16-18 MB more RSS (135 against 152 MB at
 * the bench's peak), and with the JSON escape in WebAssembly, encoding on the
 * event loop cost Deno no throughput or CPU there (two alternating rounds
 * each way, BENCHMARKS.md). Gzip is heavier: it keeps its thread.
 */
const ENCODE_THREAD_BY_DEFAULT = !('Deno' in globalThis);

export interface HttpSinkOptions {
  batchSize: number;
  endpoint: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  contentType: string;
  accept: string;
  policy: StatusPolicyOptions;
  maxBatchBytes: number;
  format: BodyFormat;
  compression: 'none' | 'gzip';
  /** zlib level 1 (fastest) … 9 (smallest). */
  compressionLevel: number;
  /** Requests in flight at once; 1 keeps order. */
  concurrency: number;
  /** ndjson/json bodies of file channel takes are encoded (and gzipped) on a thread of their own (encode-thread.ts). */
  encodeThread: boolean;
  /** Takes of fewer events than this are encoded on the event loop even with the thread (the hop would cost more). */
  encodeThreadMinBatch: number;
  /** The encoder thread's module, for tests (encode-thread.ts). */
  encodeThreadModule?: URL;
  initialBackoffMs: number;
  maxBackoffMs: number;
  dlqDir?: string;
  /** Extra request headers, values already `${ENV}`-substituted. Never logged. */
  headers: Record<string, string>;
  tls: { caFile?: string; insecure: boolean };
  /** Jitter source, for tests; Math.random when absent. */
  random?: () => number;
}

export const HTTP_SINK_KEYS =
  'endpoint, connectTimeout, requestTimeout, contentTypeHeader, acceptHeader, defaultBackoff, defaultRollback, ' +
  'defaultIncrementMetrics, backoff.CODE, rollback.CODE, incrementMetrics.CODE, batchSize, maxBatchBytes, format, ' +
  'compression, compressionLevel, concurrency, encodeThread, encodeThreadMinBatch, initialBackoff, maxBackoff, onReject, dlqDir, headers.NAME, tls.caFile, tls.insecure';

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers the sink sets itself from the body it sends. */
const RESERVED_HEADERS = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'host', 'connection']);

export const httpSinkSpec: SinkSpec<HttpSinkOptions> = {
  type: 'http',
  aliases: ['org.apache.flume.sink.http.HttpSink'],
  keys: HTTP_SINK_KEYS,

  parse(ctx: ComponentContext): HttpSinkOptions {
    const endpoint = ctx.requiredString('endpoint', 'an http:// or https:// URL');
    let url: URL | undefined;
    if (endpoint !== '') {
      try {
        url = new URL(endpoint);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') {
          ctx.error('endpoint', `"${url.protocol}" URL`, 'an http:// or https:// URL');
        }
      } catch {
        ctx.error('endpoint', `"${endpoint}"`, 'an http:// or https:// URL');
      }
    }

    const format = ctx.oneOf<BodyFormat>('format', 'text', FORMATS);
    const onRejectSet = ctx.has('onReject');
    const onRejectKey = onRejectSet ? ctx.oneOf('onReject', 'rollback', ['rollback', 'drop'] as const) : undefined;
    const dlqDir = ctx.optionalString('dlqDir')?.trim() || undefined;
    // a dead-letter directory is a reject policy of its own: rejected batches go there
    const onReject = onRejectKey ?? (dlqDir ? 'drop' : undefined);
    if (dlqDir && onRejectKey === 'rollback') {
      ctx.warning('dlqDir', 'set while onReject = rollback', 'onReject = drop (or a rollback.CODE = false) for rejected batches to reach dlqDir');
    }

    const policy: StatusPolicyOptions = {
      defaultBackoff: ctx.bool('defaultBackoff', FLUME_POLICY_DEFAULTS.defaultBackoff),
      defaultRollback: ctx.bool('defaultRollback', FLUME_POLICY_DEFAULTS.defaultRollback),
      defaultIncrementMetrics: ctx.bool('defaultIncrementMetrics', FLUME_POLICY_DEFAULTS.defaultIncrementMetrics),
      backoff: statusTable(ctx, 'backoff'),
      rollback: statusTable(ctx, 'rollback'),
      incrementMetrics: statusTable(ctx, 'incrementMetrics'),
      ...(onReject ? { onReject } : {}),
    };

    const headers: Record<string, string> = {};
    for (const [name, e] of ctx.sub('headers')) {
      const key = `headers.${name}`;
      if (!HEADER_NAME.test(name)) ctx.error(key, 'an invalid header name', 'letters, digits and !#$%&\'*+-.^_`|~');
      else if (RESERVED_HEADERS.has(name.toLowerCase())) ctx.error(key, `"${name}"`, 'a header the sink does not set itself');
      // the value may hold a secret: the message never repeats it
      else if (/[\r\n\0]/.test(e.value)) ctx.error(key, 'a value with a line break or NUL', 'a single-line value');
      else headers[name] = e.value;
    }

    const caFile = ctx.optionalString('tls.caFile')?.trim() || undefined;
    const insecure = ctx.bool('tls.insecure', false);
    if (url && url.protocol === 'http:' && (caFile || insecure)) {
      ctx.warning(caFile ? 'tls.caFile' : 'tls.insecure', 'set for an http:// endpoint', 'an https:// endpoint (TLS keys are ignored otherwise)');
    }

    const maxBackoffMs = ctx.int('maxBackoff', 30_000, { min: 1 });
    const batchSize = ctx.int('batchSize', 100, { min: 1 });
    const encodeThreadMinBatch = ctx.int('encodeThreadMinBatch', ENCODE_THREAD_MIN_BATCH, { min: 1 });
    const compression = ctx.oneOf('compression', 'none', ['none', 'gzip'] as const);
    if (encodeThreadMinBatch > batchSize) {
      ctx.warning('encodeThreadMinBatch', `${encodeThreadMinBatch}, above batchSize ${batchSize}: no take reaches the encoder thread`, `at most batchSize`);
    }
    return {
      batchSize,
      endpoint,
      connectTimeoutMs: ctx.int('connectTimeout', 5000, { min: 1 }),
      requestTimeoutMs: ctx.int('requestTimeout', 5000, { min: 1 }),
      contentType: ctx.string('contentTypeHeader', DEFAULT_CONTENT_TYPE[format]),
      accept: ctx.string('acceptHeader', format === 'text' ? 'text/plain' : '*/*'),
      policy,
      maxBatchBytes: ctx.int('maxBatchBytes', 1024 * 1024, { min: 1 }),
      format,
      compression,
      compressionLevel: ctx.int('compressionLevel', 6, { min: 1, max: 9 }),
      concurrency: ctx.int('concurrency', 1, { min: 1, max: 64 }),
      encodeThread: ctx.bool('encodeThread', compression === 'gzip' || ENCODE_THREAD_BY_DEFAULT),
      encodeThreadMinBatch,
      initialBackoffMs: ctx.int('initialBackoff', 100, { min: 1, max: maxBackoffMs }),
      maxBackoffMs,
      ...(dlqDir ? { dlqDir } : {}),
      headers,
      tls: { ...(caFile ? { caFile } : {}), insecure },
    };
  },

  create(opts, deps) {
    return new HttpSink(deps.name, opts, deps);
  },
};

/**
 * Takes of fewer events than this are encoded on the event loop. By default
 * every take goes to the thread. A bound of 128 (node, 20k lines/s, six
 * alternating rounds of the bench's live case against every take on the
 * thread) made lines arrive sooner (p50 2.5–4.0 → 2.2–2.6 ms) and cost the
 * agent less CPU (15.0–16.1 → 13.2–14.7 s over 20 s), but p99, the figure the
 * targets are set on, did not follow (median 12.4 → 13.2 ms), and at 100k
 * lines/s it rose (median 52 → 65 ms): the event loop then encodes while it
 * is busiest, and the first takes after a start run cold code on it. So it is
 * a knob for a host where CPU counts more than the slowest line (BENCHMARKS.md).
 */
export const ENCODE_THREAD_MIN_BATCH = 1;

/** `rollback.503 = true`, `rollback.5XX = false` … under one table's prefix. */
function statusTable(ctx: ComponentContext, table: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const [code, e] of ctx.sub(table)) {
    const key = `${table}.${code}`;
    const k = statusKey(code);
    if (!k) {
      ctx.error(key, `status "${code}"`, 'a status code (503) or a class (5XX) from 1XX to 5XX');
      continue;
    }
    const v = e.value.trim().toLowerCase();
    if (v !== 'true' && v !== 'false') {
      ctx.error(key, `"${e.value}"`, 'true or false');
      continue;
    }
    out.set(k, v === 'true');
  }
  return out;
}
