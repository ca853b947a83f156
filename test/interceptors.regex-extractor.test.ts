import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import { compileJodaPattern } from '../src/interceptors/joda-time.ts';
import { regexExtractorInterceptorSpec } from '../src/interceptors/regex-extractor.ts';
import { contextOf } from './helpers/context.ts';

const MILLIS = 'org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer';

function build(props: Record<string, string>) {
  const { ctx, problems } = contextOf('a1.sources.r1.interceptors.i1', props, 50);
  const opts = regexExtractorInterceptorSpec.parse(ctx);
  ctx.reportUnknown(regexExtractorInterceptorSpec.keys);
  return { problems, icp: regexExtractorInterceptorSpec.create(opts) as ReturnType<typeof regexExtractorInterceptorSpec.create> & { unparsedValues: number } };
}
const events = (...b: string[]): FlumeEvent[] => b.map((s) => eventOf(s, Object.freeze({ h: '1' }) as Record<string, string>));

function joda(pattern: string, text: string): number | undefined {
  const c = compileJodaPattern(pattern, new Date(2026, 0, 1));
  if (!c.ok) throw new Error(c.error);
  return c.value(text);
}

test("Flume's guide example: groups go to the serializers' headers in order; extra groups ignored", () => {
  const { icp, problems } = build({
    regex: '(\\d):(\\d):(\\d)',
    serializers: 's1 s2',
    'serializers.s1.name': 'one',
    'serializers.s2.name': 'two',
  });
  assert.equal(problems.list, []);
  const input = events('1:2:3.4foobar5', 'no digits');
  const out = icp.intercept(input);
  assert.equal(out[0].headers, { h: '1', one: '1', two: '2' });
  assert.is(out[1], input[1]);
  assert.equal(input[0].headers, { h: '1' });
});

test('only the first match is used; a group that did not take part sets no header', () => {
  const { icp } = build({ regex: '(a)|(b)', serializers: 's1 s2', 'serializers.s1.name': 'A', 'serializers.s2.name': 'B' });
  assert.equal(icp.intercept(events('xb a'))[0].headers, { h: '1', B: 'b' });
});

test('millis serializer: a Joda pattern gives epoch millis; an unparsable date is counted, not set', () => {
  const { icp, problems } = build({
    regex: '^(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d[+-]\\d\\d:\\d\\d) (\\w+)',
    serializers: 'ts lvl',
    'serializers.ts.name': 'timestamp',
    'serializers.ts.type': MILLIS,
    'serializers.ts.pattern': 'yyyy-MM-dd HH:mm:ssZZ',
    'serializers.lvl.name': 'level',
    'serializers.lvl.type': 'default',
  });
  assert.equal(problems.list, []);
  const out = icp.intercept(events('2024-03-05 10:20:30+01:00 ERROR x', '2024-13-05 10:20:30+01:00 INFO y'));
  assert.equal(out[0].headers, { h: '1', timestamp: String(Date.UTC(2024, 2, 5, 9, 20, 30)), level: 'ERROR' });
  assert.equal(out[1].headers, { h: '1', level: 'INFO' });
  assert.is(icp.unparsedValues, 1);
});

test('problems: missing regex and serializers, missing name, unknown type, bad pattern', () => {
  assert.equal(build({}).problems.errors.map((p) => p.key), ['a1.sources.r1.interceptors.i1.regex', 'a1.sources.r1.interceptors.i1.serializers']);
  const p = build({
    regex: '(a)(b)(c)',
    serializers: 's1 s2 s3',
    'serializers.s2.name': 'b',
    'serializers.s2.type': 'com.example.Mine',
    'serializers.s3.name': 'c',
    'serializers.s3.type': MILLIS,
    'serializers.s3.pattern': 'yyyy-QQ',
  }).problems;
  assert.equal(p.errors.map((e) => e.key.replace('a1.sources.r1.interceptors.i1.', '')), ['serializers.s1.name', 'serializers.s2.type', 'serializers.s3.pattern']);
});

test('joda: numeric fields, literals, fractions, local zone by default', () => {
  assert.is(joda('yyyy-MM-dd HH:mm:ss.SSS', '2024-03-05 10:20:30.123'), new Date(2024, 2, 5, 10, 20, 30, 123).getTime());
  assert.is(joda('yyyyMMddHHmmss', '20240305102030'), new Date(2024, 2, 5, 10, 20, 30).getTime());
  assert.is(joda('d/M/yyyy', '5/3/2024'), new Date(2024, 2, 5).getTime());
  assert.is(joda("yyyy-MM-dd'T'HH:mm:ssZ", '2024-03-05T10:20:30Z'), Date.UTC(2024, 2, 5, 10, 20, 30));
  assert.is(joda('yyyy-MM-dd HH:mm Z', '2024-03-05 10:20 -0130'), Date.UTC(2024, 2, 5, 11, 50));
  assert.is(joda('HH:mm:ss.S', '00:00:01.5'), new Date(1970, 0, 1, 0, 0, 1, 500).getTime());
});

test('joda: month and day names (case-insensitive), 12-hour clock, two-digit years', () => {
  assert.is(joda('EEE, dd MMM yyyy hh:mm a', 'Tue, 05 mar 2024 01:15 PM'), new Date(2024, 2, 5, 13, 15).getTime());
  assert.is(joda('MMMM d, yyyy', 'September 9, 2021'), new Date(2021, 8, 9).getTime());
  assert.is(joda('dd/MM/yy', '01/02/24'), new Date(2024, 1, 1).getTime());
  assert.is(joda('dd/MM/yy', '01/02/60'), new Date(1960, 1, 1).getTime());
  assert.is(joda('hh a', '12 AM'), new Date(1970, 0, 1, 0).getTime());
});

test('joda: values that do not fit the pattern are undefined', () => {
  assert.is(joda('yyyy-MM-dd', '2024-02-30'), undefined);
  assert.is(joda('yyyy-MM-dd', '2024-03-05 trailing'), undefined);
  assert.is(joda('yyyyMMdd', '202403'), undefined);
  assert.is(joda('yyyyMMdd', '20240305'), new Date(2024, 2, 5).getTime());
  assert.is(joda('HH:mm', '24:00'), undefined);
  assert.is(joda('MMM', 'Foo'), undefined);
});

test('joda: unsupported letters and zone ids are config errors', () => {
  assert.not.ok(compileJodaPattern('yyyy-QQ').ok);
  assert.not.ok(compileJodaPattern('HH:mm ZZZ').ok);
  assert.not.ok(compileJodaPattern("HH 'open").ok);
});

test.run();
