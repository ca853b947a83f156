import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostname, networkInterfaces } from 'node:os';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import type { InterceptorSpec } from '../src/interceptors/interceptor.ts';
import { hostInterceptorSpec } from '../src/interceptors/host.ts';
import { removeHeaderInterceptorSpec } from '../src/interceptors/remove-header.ts';
import { staticInterceptorSpec } from '../src/interceptors/static.ts';
import { timestampInterceptorSpec } from '../src/interceptors/timestamp.ts';
import { uuidInterceptorSpec } from '../src/interceptors/uuid.ts';
import { contextOf } from './helpers/context.ts';

/** Parses `props` as the keys of interceptor i1 and builds it; returns it and the problems. */
function build<O>(spec: InterceptorSpec<O>, props: Record<string, string> = {}) {
  const { ctx, problems } = contextOf('a1.sources.r1.interceptors.i1', props, 30);
  const opts = spec.parse(ctx);
  ctx.reportUnknown(spec.keys);
  return { opts, problems, icp: spec.create(opts) };
}

/** Events whose header objects are frozen: an interceptor that changes them in place throws. */
function frozen(...headers: Record<string, string>[]): FlumeEvent[] {
  return headers.map((h, i) => eventOf(`body${i}`, Object.freeze({ ...h }) as Record<string, string>));
}

test('timestamp: defaults headerName=timestamp, preserveExisting=false; epoch millis of now', () => {
  const { opts, problems, icp } = build(timestampInterceptorSpec);
  assert.equal(opts, { headerName: 'timestamp', preserveExisting: false });
  assert.equal(problems.list, []);
  const before = Date.now();
  const input = frozen({}, { timestamp: '1', other: 'x' });
  const out = icp.intercept(input);
  const after = Date.now();
  for (const e of out) {
    assert.match(e.headers.timestamp, /^\d+$/);
    const t = Number(e.headers.timestamp);
    assert.ok(t >= before && t <= after);
  }
  assert.is(out[1].headers.other, 'x');
  assert.is(out[0].body, input[0].body);
  assert.equal(input[1].headers, { timestamp: '1', other: 'x' });
});

test('timestamp: headerName and preserveExisting=true keep an existing value (and the event object)', () => {
  const { icp } = build(timestampInterceptorSpec, { headerName: 'ts', preserveExisting: 'true' });
  const input = frozen({ ts: '42' }, {});
  const out = icp.intercept(input);
  assert.is(out[0], input[0]);
  assert.match(out[1].headers.ts, /^\d+$/);
  assert.is(out[1].headers.timestamp, undefined);
});

test('timestamp: a bad boolean is an error with its line', () => {
  const { problems } = build(timestampInterceptorSpec, { preserveExisting: 'yes' });
  assert.equal(problems.errors.map((p) => [p.line, p.key]), [[30, 'a1.sources.r1.interceptors.i1.preserveExisting']]);
});

test('host: defaults hostHeader=host, useIP=true → the first non-internal IPv4 (or 127.0.0.1)', () => {
  const { opts, icp } = build(hostInterceptorSpec);
  assert.equal(opts, { hostHeader: 'host', useIP: true, preserveExisting: false });
  const ips = Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal).map((a) => a!.address);
  const expected = ips[0] ?? '127.0.0.1';
  const out = icp.intercept(frozen({}, { host: 'old' }));
  assert.is(out[0].headers.host, expected);
  assert.is(out[1].headers.host, expected);
});

test('host: useIP=false gives the host name; hostHeader and preserveExisting', () => {
  const { icp } = build(hostInterceptorSpec, { useIP: 'false', hostHeader: 'hostname', preserveExisting: 'true' });
  const input = frozen({}, { hostname: 'kept' });
  const out = icp.intercept(input);
  assert.is(out[0].headers.hostname, hostname());
  assert.is(out[1], input[1]);
});

test('static: Flume defaults key=key, value=value, preserveExisting=true', () => {
  const { opts, icp } = build(staticInterceptorSpec);
  assert.equal(opts, { key: 'key', value: 'value', preserveExisting: true });
  const input = frozen({}, { key: 'mine' });
  const out = icp.intercept(input);
  assert.equal(out[0].headers, { key: 'value' });
  assert.is(out[1], input[1]);
});

test('static: key, value, preserveExisting=false overwrites; other headers kept', () => {
  const { icp } = build(staticInterceptorSpec, { key: 'datacenter', value: 'NYC_01', preserveExisting: 'false' });
  const out = icp.intercept(frozen({ datacenter: 'old', a: '1' }));
  assert.equal(out[0].headers, { datacenter: 'NYC_01', a: '1' });
});

test('uuid: defaults headerName=id, prefix empty, preserveExisting=true; a v4 UUID per event', () => {
  const { opts, icp } = build(uuidInterceptorSpec);
  assert.equal(opts, { headerName: 'id', prefix: '', preserveExisting: true });
  const input = frozen({}, {}, { id: 'given' });
  const out = icp.intercept(input);
  assert.match(out[0].headers.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.is.not(out[0].headers.id, out[1].headers.id);
  assert.is(out[2], input[2]);
});

test('uuid: headerName, prefix, preserveExisting=false', () => {
  const { icp } = build(uuidInterceptorSpec, { headerName: 'eventId', prefix: 'host1-', preserveExisting: 'false' });
  const out = icp.intercept(frozen({ eventId: 'old' }));
  assert.match(out[0].headers.eventId, /^host1-[0-9a-f-]{36}$/);
});

test('remove_header: nothing configured changes nothing', () => {
  const { opts, icp } = build(removeHeaderInterceptorSpec);
  assert.equal(opts, {});
  const input = frozen({ a: '1' });
  assert.is(icp.intercept(input)[0], input[0]);
});

test('remove_header: withName, fromList (default separator \\s*,\\s*) and matching (whole name)', () => {
  const { icp, problems } = build(removeHeaderInterceptorSpec, { withName: 'secret', fromList: 'a ,b,  c', matching: 'tmp_.*' });
  assert.equal(problems.list, []);
  const input = frozen({ secret: 's', a: '1', b: '2', c: '3', d: '4', tmp_x: '5', x_tmp_y: '6' }, { keep: 'k' });
  const out = icp.intercept(input);
  assert.equal(out[0].headers, { d: '4', x_tmp_y: '6' });
  assert.is(out[1], input[1]);
  assert.equal(input[0].headers.secret, 's');
});

test('remove_header: fromListSeparator is a regex', () => {
  const { icp } = build(removeHeaderInterceptorSpec, { fromList: 'a|b;c', fromListSeparator: '[|;]' });
  assert.equal(icp.intercept(frozen({ a: '1', b: '2', c: '3', d: '4' }))[0].headers, { d: '4' });
});

test('remove_header: a bad matching regex is an error with its line', () => {
  const { problems } = build(removeHeaderInterceptorSpec, { withName: 'x', matching: '(unclosed' });
  assert.equal(problems.errors.map((p) => [p.line, p.key]), [[31, 'a1.sources.r1.interceptors.i1.matching']]);
});

test('unknown keys of an interceptor are left for reportUnknown (warnings)', () => {
  const { problems } = build(staticInterceptorSpec, { key: 'k', valeu: 'v' });
  assert.equal(problems.warnings.map((w) => w.key), ['a1.sources.r1.interceptors.i1.valeu']);
});

test.run();
