import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import type { InterceptorSpec } from '../src/interceptors/interceptor.ts';
import { regexFilterInterceptorSpec } from '../src/interceptors/regex-filter.ts';
import { searchReplaceInterceptorSpec } from '../src/interceptors/search-replace.ts';
import { contextOf } from './helpers/context.ts';

function build<O>(spec: InterceptorSpec<O>, props: Record<string, string> = {}) {
  const { ctx, problems } = contextOf('a1.sources.r1.interceptors.i1', props, 40);
  const opts = spec.parse(ctx);
  return { opts, problems, icp: spec.create(opts) };
}

const dec = new TextDecoder();
const bodies = (es: FlumeEvent[]) => es.map((e) => dec.decode(e.body));
const events = (...b: string[]) => b.map((s) => eventOf(s, Object.freeze({ h: '1' }) as Record<string, string>));

test('regex_filter: default regex .* keeps every event (the same array)', () => {
  const { opts, icp } = build(regexFilterInterceptorSpec);
  assert.is(opts.excludeEvents, false);
  const input = events('a', '', 'b');
  assert.is(icp.intercept(input), input);
});

test('regex_filter: default regex with excludeEvents=true drops everything (as in Flume)', () => {
  const { icp } = build(regexFilterInterceptorSpec, { excludeEvents: 'true' });
  assert.equal(icp.intercept(events('a', 'b')), []);
});

test('regex_filter: keeps bodies containing a match (find, not whole-body match)', () => {
  const { icp } = build(regexFilterInterceptorSpec, { regex: '(WARNING)|(ERROR)|(FATAL)' });
  const input = events('2024 ERROR disk', 'INFO ok', 'FATAL', 'warning lower');
  const out = icp.intercept(input);
  assert.equal(bodies(out), ['2024 ERROR disk', 'FATAL']);
  assert.is(out[0], input[0]);
});

test('regex_filter: excludeEvents=true drops the matching bodies', () => {
  const { icp } = build(regexFilterInterceptorSpec, { regex: '^DEBUG', excludeEvents: 'true' });
  assert.equal(bodies(icp.intercept(events('DEBUG x', 'INFO DEBUG', 'ERROR'))), ['INFO DEBUG', 'ERROR']);
});

test('regex_filter: bodies are decoded as UTF-8', () => {
  const { icp } = build(regexFilterInterceptorSpec, { regex: 'café|日本' });
  assert.equal(bodies(icp.intercept(events('un café', 'cafe', '日本語'))), ['un café', '日本語']);
});

test('regex_filter: a bad regex is an error with its line', () => {
  const { problems } = build(regexFilterInterceptorSpec, { regex: 'a**' });
  assert.equal(problems.errors.map((p) => [p.line, p.key]), [[40, 'a1.sources.r1.interceptors.i1.regex']]);
});

test('search_replace: Java replaceAll on the body; headers kept; unchanged events pass through', () => {
  const { opts, icp } = build(searchReplaceInterceptorSpec, { searchPattern: '^INFO:', replaceString: 'Log msg:' });
  assert.is(opts.charset, 'UTF-8');
  const input = events('INFO: hello', 'WARN: x');
  const out = icp.intercept(input);
  assert.equal(bodies(out), ['Log msg: hello', 'WARN: x']);
  assert.equal(out[0].headers, { h: '1' });
  assert.is(out[1], input[1]);
  assert.is(dec.decode(input[0].body), 'INFO: hello');
});

test('search_replace: every match is replaced; $n and ${name} group references; \\$ literal', () => {
  const a = build(searchReplaceInterceptorSpec, { searchPattern: '(\\w+)@(\\w+)\\.com', replaceString: '$2 at \\$$1' });
  assert.equal(bodies(a.icp.intercept(events('a@x.com, b@y.com'))), ['x at $a, y at $b']);
  const b = build(searchReplaceInterceptorSpec, { searchPattern: '(?<user>\\w+)@', replaceString: '${user} AT ' });
  assert.equal(bodies(b.icp.intercept(events('me@host'))), ['me AT host']);
});

test('search_replace: missing replaceString deletes the matches', () => {
  const { icp } = build(searchReplaceInterceptorSpec, { searchPattern: '\\s*password=\\S+' });
  assert.equal(bodies(icp.intercept(events('login user=a password=hunter2 ok'))), ['login user=a ok']);
});

test('search_replace: charset ISO-8859-1 decodes and encodes latin1 bytes', () => {
  const { icp } = build(searchReplaceInterceptorSpec, { searchPattern: 'é', replaceString: 'e', charset: 'iso-8859-1' });
  const out = icp.intercept([eventOf(new Uint8Array([0x63, 0x61, 0x66, 0xe9]))]);
  assert.equal([...out[0].body], [0x63, 0x61, 0x66, 0x65]);
});

test('search_replace: problems — missing searchPattern, bad regex, bad group ref, unknown charset', () => {
  assert.equal(build(searchReplaceInterceptorSpec).problems.errors.map((p) => p.key), ['a1.sources.r1.interceptors.i1.searchPattern']);
  assert.equal(build(searchReplaceInterceptorSpec, { searchPattern: '(' }).problems.errors.map((p) => p.line), [40]);
  const ref = build(searchReplaceInterceptorSpec, { searchPattern: '(a)', replaceString: '$2' }).problems.errors;
  assert.equal(ref.map((p) => [p.line, p.key]), [[41, 'a1.sources.r1.interceptors.i1.replaceString']]);
  assert.match(ref[0].found, /no group 2/);
  const cs = build(searchReplaceInterceptorSpec, { searchPattern: 'a', charset: 'EBCDIC' }).problems.errors;
  assert.equal(cs.map((p) => [p.key, p.found]), [['a1.sources.r1.interceptors.i1.charset', '"EBCDIC"']]);
  assert.match(cs[0].expected, /UTF-8, ISO-8859-1/);
});

test.run();
