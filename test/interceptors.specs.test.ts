import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findInterceptorSpec, interceptorSpecs } from '../src/interceptors/index.ts';

test('every alias is found, in any case', () => {
  for (const t of ['timestamp', 'host', 'static', 'remove_header', 'uuid', 'regex_filter', 'regex_extractor', 'search_replace']) {
    assert.is(findInterceptorSpec(t)?.type, t);
    assert.is(findInterceptorSpec(t.toUpperCase())?.type, t);
  }
  assert.equal(interceptorSpecs.map((s) => s.type), ['timestamp', 'host', 'static', 'remove_header', 'uuid', 'regex_filter', 'regex_extractor', 'search_replace']);
});

test("Flume's Builder class names are found", () => {
  const classes: Record<string, string> = {
    'org.apache.flume.interceptor.TimestampInterceptor$Builder': 'timestamp',
    'org.apache.flume.interceptor.HostInterceptor$Builder': 'host',
    'org.apache.flume.interceptor.StaticInterceptor$Builder': 'static',
    'org.apache.flume.interceptor.RemoveHeaderInterceptor$Builder': 'remove_header',
    'org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder': 'uuid',
    'org.apache.flume.interceptor.RegexFilteringInterceptor$Builder': 'regex_filter',
    'org.apache.flume.interceptor.RegexExtractorInterceptor$Builder': 'regex_extractor',
    'org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder': 'search_replace',
  };
  for (const [cls, type] of Object.entries(classes)) {
    assert.is(findInterceptorSpec(cls)?.type, type);
    assert.is(findInterceptorSpec(` ${cls.toLowerCase()} `)?.type, type);
  }
});

test('unknown types are undefined', () => {
  assert.is(findInterceptorSpec('nope'), undefined);
  assert.is(findInterceptorSpec('org.apache.flume.interceptor.TimestampInterceptor'), undefined);
  assert.is(findInterceptorSpec('constructor'), undefined);
});

test('each spec lists its keys for the unknown-key warning', () => {
  for (const s of interceptorSpecs) assert.ok(s.keys.length > 0, s.type);
});

test.run();
