import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { substituteEnv } from '../src/config/env.ts';

const env = { PORT: '44444', HOST: 'example.org', EMPTY: '' };

test('${NAME} is replaced from the environment, anywhere in the value, several times', () => {
  assert.equal(substituteEnv('${PORT}', env), { value: '44444', missing: [] });
  assert.equal(substituteEnv('http://${HOST}:${PORT}/x/${PORT}', env), { value: 'http://example.org:44444/x/44444', missing: [] });
});

test("Flume's explicit ${env:NAME} form works too", () => {
  assert.equal(substituteEnv('${env:HOST}', env), { value: 'example.org', missing: [] });
});

test('a variable set to the empty string is a value, not missing', () => {
  assert.equal(substituteEnv('a${EMPTY}b', env), { value: 'ab', missing: [] });
});

test('a missing variable is reported once and left as written', () => {
  assert.equal(substituteEnv('${NOPE}:${PORT}:${NOPE}:${ALSO}', env), { value: '${NOPE}:44444:${NOPE}:${ALSO}', missing: ['NOPE', 'ALSO'] });
});

test('inherited object properties are not variables', () => {
  assert.equal(substituteEnv('${constructor}', {}), { value: '${constructor}', missing: ['constructor'] });
});

test('$ not followed by {, an unclosed ${, and ${} are literal', () => {
  assert.equal(substituteEnv('cost $5 $PORT', env), { value: 'cost $5 $PORT', missing: [] });
  assert.equal(substituteEnv('a ${PORT', env), { value: 'a ${PORT', missing: [] });
  assert.equal(substituteEnv('a ${}', env), { value: 'a ${}', missing: [] });
  assert.equal(substituteEnv('org.apache.flume.interceptor.HostInterceptor$Builder', env).value, 'org.apache.flume.interceptor.HostInterceptor$Builder');
});

test('no escape syntax is invented: $${PORT} is a literal $ then the substitution', () => {
  assert.equal(substituteEnv('$${PORT}', env), { value: '$44444', missing: [] });
});

test('a value without ${ is returned as is', () => {
  const v = 'plain value';
  assert.is(substituteEnv(v, env).value, v);
});

test.run();
