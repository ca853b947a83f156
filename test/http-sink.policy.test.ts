import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Problems } from '../src/config/problems.ts';
import { eventOf } from '../src/core/event.ts';
import { httpSinkSpec, type HttpSinkOptions } from '../src/sinks/http/spec.ts';
import { StatusPolicy, FLUME_POLICY_DEFAULTS, type StatusPolicyOptions } from '../src/sinks/http/policy.ts';
import { Backoff, parseRetryAfter, MAX_RETRY_AFTER_MS } from '../src/sinks/http/retry.ts';
import { encodeBatch } from '../src/sinks/http/encode.ts';
import { contextOf } from './helpers/context.ts';

function parse(props: Record<string, string>): { opts: HttpSinkOptions; problems: Problems } {
  const { ctx, problems } = contextOf('a1.sinks.k1', props);
  ctx.markUsed('type');
  const opts = httpSinkSpec.parse(ctx);
  ctx.reportUnknown(httpSinkSpec.keys);
  return { opts, problems };
}

const policyOf = (props: Record<string, string>): StatusPolicy => new StatusPolicy(parse({ endpoint: 'http://x/', ...props }).opts.policy);

test('defaults: 2xx commits (unlike Flume), 408/429/5xx/3xx and other 4xx roll back and back off', () => {
  const p = policyOf({});
  for (const s of [200, 201, 204]) assert.equal(p.decide(s), { action: 'commit', backoff: false }, String(s));
  for (const s of [301, 400, 401, 404, 408, 413, 429, 500, 502, 503]) assert.equal(p.decide(s), { action: 'retry', backoff: true }, String(s));
});

test('a Flume config that fixes the 2xx trap by hand means the same here', () => {
  const p = policyOf({ 'rollback.2XX': 'false', 'backoff.2XX': 'false', 'incrementMetrics.2XX': 'true', 'rollback.4XX': 'false', 'backoff.4XX': 'false' });
  assert.equal(p.decide(200), { action: 'commit', backoff: false });
  assert.equal(p.decide(404), { action: 'reject', backoff: false });
  assert.equal(p.decide(503), { action: 'retry', backoff: true });
});

test('the most specific entry wins: exact over group over class rule over default', () => {
  const p = policyOf({ 'rollback.5XX': 'false', 'rollback.503': 'true', 'incrementMetrics.5xx': 'true', 'backoff.5XX': 'false', defaultRollback: 'false' });
  assert.equal(p.decide(503), { action: 'retry', backoff: true });
  assert.equal(p.decide(500), { action: 'commit', backoff: false }, '5XX group: commit, counted as success');
  assert.equal(p.decide(302), { action: 'reject', backoff: true }, 'defaultRollback=false, default increment false, default backoff true');
  assert.equal(p.decide(200), { action: 'commit', backoff: false }, 'the 2xx rule beats defaultRollback');
  const q = policyOf({ 'rollback.200': 'true' });
  assert.equal(q.decide(200).action, 'retry', 'an explicit 2xx override still works');
  assert.equal(q.decide(201).action, 'commit');
});

test('onReject: drop commits permanent 4xx without success; 408 and 429 still retry; overrides still win', () => {
  const p = policyOf({ onReject: 'drop', 'rollback.409': 'true' });
  for (const s of [400, 401, 403, 404, 413, 422]) assert.equal(p.decide(s), { action: 'reject', backoff: false }, String(s));
  for (const s of [408, 429, 409, 500]) assert.equal(p.decide(s).action, 'retry', String(s));
  const dlq = policyOf({ dlqDir: '/tmp/x' });
  assert.is(dlq.decide(400).action, 'reject', 'dlqDir alone sends rejects to the directory');
  const keep = policyOf({ onReject: 'rollback', defaultRollback: 'false' });
  assert.is(keep.decide(400).action, 'retry', 'explicit onReject = rollback beats defaultRollback');
  assert.is(keep.decide(500).action, 'reject');
});

test('Flume defaults are Flume\'s', () => {
  assert.equal({ ...FLUME_POLICY_DEFAULTS }, { defaultBackoff: true, defaultRollback: true, defaultIncrementMetrics: false });
  const { opts } = parse({ endpoint: 'http://x/' });
  assert.is(opts.connectTimeoutMs, 5000);
  assert.is(opts.requestTimeoutMs, 5000);
  assert.is(opts.contentType, 'text/plain');
  assert.is(opts.accept, 'text/plain');
  assert.is(opts.batchSize, 100);
  assert.is(opts.format, 'text');
  assert.is(opts.concurrency, 1);
  assert.is(parse({ endpoint: 'http://x/', format: 'ndjson' }).opts.contentType, 'application/x-ndjson');
  assert.is(parse({ endpoint: 'http://x/', format: 'json' }).opts.contentType, 'application/json');
  assert.is(parse({ endpoint: 'http://x/', format: 'json', contentTypeHeader: 'application/vnd.x+json' }).opts.contentType, 'application/vnd.x+json');
});

test('config problems: every one reported, with the key, and never a header value', () => {
  const { problems } = parse({
    endpoint: 'ftp://x/',
    'rollback.600': 'true',
    'backoff.5XX': 'yes',
    'headers.Bad Name': 'v',
    'headers.Authorization': 'Bearer secret-123\nInjected: 1',
    'headers.Content-Length': '5',
    format: 'xml',
    concurrency: '0',
  });
  const text = problems.list.map((p) => `${p.key}: ${p.found}`).join('\n');
  for (const k of ['endpoint', 'rollback.600', 'backoff.5XX', 'headers.Bad Name', 'headers.Authorization', 'headers.Content-Length', 'format', 'concurrency']) {
    assert.ok(text.includes(`a1.sinks.k1.${k}:`), `${k} reported in:\n${text}`);
  }
  assert.not.ok(JSON.stringify(problems.list).includes('secret-123'));
  assert.is(parse({}).problems.errors[0].key, 'a1.sinks.k1.endpoint');
  assert.is(parse({ endpoint: 'not a url' }).problems.errors.length, 1);
  assert.is(parse({ endpoint: 'http://x/', 'tls.insecure': 'true' }).problems.warnings.length, 1, 'TLS keys on http:// warn');
});

test('Retry-After: delta-seconds, HTTP-date, garbage, past dates, huge values', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.is(parseRetryAfter('120', now), 120_000);
  assert.is(parseRetryAfter(' 0 ', now), 0);
  assert.is(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.is(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  assert.is(parseRetryAfter('soon', now), undefined);
  assert.is(parseRetryAfter('-5', now), undefined);
  assert.is(parseRetryAfter(undefined, now), undefined);
  assert.is(parseRetryAfter('999999999', now), MAX_RETRY_AFTER_MS);
});

test('backoff: doubles with jitter in [ceiling/2, ceiling), capped, floored by Retry-After, reset by success', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 0.9999, noNaN: true }), { minLength: 1, maxLength: 40 }), (rs) => {
      let i = 0;
      const b = new Backoff({ initialMs: 100, maxMs: 5000, random: () => rs[i++ % rs.length] });
      for (let n = 0; n < rs.length; n++) {
        const ceiling = Math.min(5000, 100 * 2 ** n);
        const d = b.fail();
        if (d < ceiling / 2 - 1 || d > ceiling) return false;
      }
      return true;
    }),
  );
  const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
  assert.is(b.fail(), 50);
  assert.is(b.fail(2500), 2500, 'Retry-After above the cap is honoured');
  assert.is(b.failures, 2);
  b.reset();
  assert.is(b.failures, 0);
  assert.is(b.currentMs, 0);
});

test('encoding: any batch and byte cap → requests in order, each event once, none over the cap unless alone', () => {
  const event = fc.record({
    body: fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\u0001', 'é', '😀', 'a'), maxLength: 30 }), fc.uint8Array({ maxLength: 60 })),
    headers: fc.dictionary(fc.string({ unit: 'binary', minLength: 1, maxLength: 5 }), fc.string({ unit: 'binary', maxLength: 8 }), { maxKeys: 3 }),
  });
  fc.assert(
    fc.property(fc.array(event, { minLength: 1, maxLength: 30 }), fc.constantFrom('ndjson', 'json', 'text'), fc.integer({ min: 1, max: 400 }), (raw, format, cap) => {
      const events = raw.map((r) => eventOf(r.body, r.headers));
      const chunks = encodeBatch(events, format as 'ndjson' | 'json' | 'text', cap);
      let next = 0;
      for (const c of chunks) {
        if (c.first !== next || c.count < 1) return false;
        next += c.count;
        if (c.count > 1 && c.body.byteLength > cap) return false;
        if (format === 'json') {
          const arr = JSON.parse(c.body.toString()) as Array<{ headers: Record<string, string>; body?: string; body_base64?: string }>;
          if (arr.length !== c.count) return false;
          for (let k = 0; k < arr.length; k++) {
            const e = events[c.first + k];
            const bytes = arr[k].body !== undefined ? Buffer.from(arr[k].body!, 'utf8') : Buffer.from(arr[k].body_base64!, 'base64');
            if (!bytes.equals(Buffer.from(e.body)) || JSON.stringify(arr[k].headers) !== JSON.stringify(e.headers)) return false;
          }
        } else if (format === 'ndjson') {
          const text = c.body.toString();
          const objs = text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as { headers: Record<string, string>; body?: string; body_base64?: string });
          if (!text.endsWith('\n') || objs.length !== c.count) return false;
          for (let k = 0; k < objs.length; k++) {
            const e = events[c.first + k];
            const bytes = objs[k].body !== undefined ? Buffer.from(objs[k].body!, 'utf8') : Buffer.from(objs[k].body_base64!, 'base64');
            if (!bytes.equals(Buffer.from(e.body)) || JSON.stringify(objs[k].headers) !== JSON.stringify(e.headers)) return false;
          }
        } else {
          const expect = Buffer.concat(events.slice(c.first, c.first + c.count).flatMap((e, k) => (k ? [Buffer.from('\n'), e.body] : [e.body])));
          if (!expect.equals(c.body)) return false;
        }
      }
      return next === events.length;
    }),
    { numRuns: 300 },
  );
});

test('policy object accepts hand-built options (used by the agent for quick mode)', () => {
  const opts: StatusPolicyOptions = { ...FLUME_POLICY_DEFAULTS, backoff: new Map(), rollback: new Map(), incrementMetrics: new Map(), onReject: 'drop' };
  assert.is(new StatusPolicy(opts).decide(404).action, 'reject');
});

test.run();
