import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfigText } from '../src/config/load.ts';
import { formatProblem } from '../src/config/problems.ts';
import { registry } from '../src/registry.ts';

const load = (text: string, env: Record<string, string> = {}) => loadConfigText(text, 'test.properties', 'a1', registry, env);
const errors = (text: string, env: Record<string, string> = {}) => load(text, env).problems.filter((p) => p.severity === 'error');

const GOOD = `a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = localhost
a1.sources.r1.port = 44444
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = logger
a1.sinks.k1.channel = c1
`;

test('a valid config has no problems and typed options', () => {
  const cfg = load(GOOD);
  assert.equal(cfg.problems, []);
  assert.is(cfg.sources[0].spec.type, 'netcat');
  assert.equal(cfg.sources[0].options, { bind: 'localhost', port: 44444, maxLineLength: 512, ackEveryEvent: true });
  assert.equal(cfg.channels[0].options, { capacity: 100, transactionCapacity: 100, byteCapacity: 0, byteCapacityBufferPercentage: 20, keepAliveMs: 3000 });
  assert.is(cfg.sinks[0].channel, 'c1');
});

test('types match case-insensitively and by Flume class name', () => {
  const cfg = load(GOOD.replace('type = netcat', 'type = NetCat').replace('type = logger', 'type = org.apache.flume.sink.LoggerSink'));
  assert.equal(cfg.problems, []);
  assert.is(cfg.sinks[0].spec.type, 'logger');
});

test('every problem is reported at once, each with its line, key, what was found and what was expected', () => {
  const text = `a1.sources = r1
a1.channels = c1
a1.sinks = k1 k2
a1.sources.r1.type = netkat
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = lots
a1.sinks.k1.type = logger
a1.sinks.k1.channel = c9
a1.sinks.k2.type = logger
a1.sinks.k2.channels = c1
`;
  const errs = errors(text);
  const lines = errs.map(formatProblem);
  assert.ok(lines.some((l) => l.startsWith('test.properties:4: error: a1.sources.r1.type: unknown source type "netkat"; expected one of netcat')), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('test.properties:7: error: a1.channels.c1.capacity: "lots"; expected an integer >= 1')), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('test.properties:9: error: a1.sinks.k1.channel: channel "c9", which is not in a1.channels; expected one of: c1')), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('test.properties:11: error: a1.sinks.k2.channel: missing (found the plural "channels"')), lines.join('\n'));
  assert.is(errs.length, 4, lines.join('\n'));
});

test('a source without channels, and the singular slip, are explained', () => {
  const errs = errors(GOOD.replace('a1.sources.r1.channels = c1', 'a1.sources.r1.channel = c1'));
  assert.is(errs.length, 1);
  assert.is(errs[0].line, 7);
  assert.match(errs[0].found, /singular/);
});

test('a netcat source without bind or port says what it needs', () => {
  const errs = errors(GOOD.replace('a1.sources.r1.bind = localhost\n', '').replace('a1.sources.r1.port = 44444\n', ''));
  assert.equal(errs.map((e) => e.key).sort(), ['a1.sources.r1.bind', 'a1.sources.r1.port']);
  assert.ok(errs.every((e) => e.line === 4), 'reported on the type line');
});

test('a sink batch above the channel transactionCapacity names both lines', () => {
  const errs = errors(GOOD + 'a1.sinks.k1.batchSize = 500\na1.channels.c1.transactionCapacity = 50\na1.channels.c1.capacity = 1000\n');
  assert.is(errs.length, 1);
  assert.is(errs[0].line, 11);
  assert.match(errs[0].found, /transactionCapacity 50 \(line 12\)/);
});

test('unknown keys of a known component are warnings, not silence and not errors', () => {
  const cfg = load(GOOD + 'a1.sinks.k1.maxBytesToLg = 20\n');
  assert.is(cfg.problems.length, 1);
  assert.is(cfg.problems[0].severity, 'warning');
  assert.is(cfg.problems[0].line, 11);
  assert.match(cfg.problems[0].expected, /maxBytesToLog/);
});

test('${VAR} comes from the environment; a missing one is an error with its line', () => {
  const text = GOOD.replace('port = 44444', 'port = ${NC_PORT}');
  assert.is((load(text, { NC_PORT: "5555" }).sources[0].options as { port: number }).port, 5555);
  const errs = errors(text);
  assert.is(errs.length, 1);
  assert.is(errs[0].line, 6);
  assert.match(errs[0].found, /NC_PORT is not set/);
});

test('-n naming an agent the file does not have lists the agents it has', () => {
  const cfg = loadConfigText(GOOD, 'test.properties', 'agent', registry, {});
  assert.match(formatProblem(cfg.problems[0]), /no keys for agent "agent"; expected -n to name an agent of this file: a1/);
});

test('keys of other agents in the same file are ignored', () => {
  const cfg = load(GOOD + 'a2.sources = x\na2.sources.x.type = bogus\n');
  assert.equal(cfg.problems, []);
});

test('empty values are rejected like Flume does, duplicates warned', () => {
  const cfg = load(GOOD + 'a1.channels.c1.capacity =\na1.sinks.k1.maxBytesToLog = 8\na1.sinks.k1.maxBytesToLog = 9\n');
  const errs = cfg.problems.filter((p) => p.severity === 'error');
  assert.is(errs.length, 1);
  assert.is(errs[0].line, 11);
  assert.ok(cfg.problems.some((p) => p.severity === 'warning' && p.line === 13 && /first on line 12/.test(p.found)));
  assert.is((cfg.sinks[0].options as unknown as { maxBytesToLog: number }).maxBytesToLog, 9);
});

test('sink groups: failover and load_balance parse with their keys; mistakes are reported', () => {
  const two = GOOD.replace('a1.sinks = k1', 'a1.sinks = k1 k2') + 'a1.sinks.k2.type = null\na1.sinks.k2.channel = c1\n';
  const ok = load(two + 'a1.sinkgroups = g1\na1.sinkgroups.g1.sinks = k1 k2\na1.sinkgroups.g1.processor.type = failover\na1.sinkgroups.g1.processor.priority.k1 = 10\na1.sinkgroups.g1.processor.priority.k2 = 5\na1.sinkgroups.g1.processor.maxpenalty = 10000\n');
  assert.equal(ok.problems, []);
  assert.equal(ok.sinkGroups, [{ name: 'g1', members: ['k1', 'k2'], processor: { type: 'failover', priorities: { k1: 10, k2: 5 }, maxPenaltyMs: 10000 } }]);
  const lb = load(two + 'a1.sinkgroups = g1\na1.sinkgroups.g1.sinks = k1 k2\na1.sinkgroups.g1.processor.type = load_balance\na1.sinkgroups.g1.processor.backoff = true\n');
  assert.equal(lb.sinkGroups[0].processor, { type: 'load_balance', selector: 'round_robin', backoff: true, maxTimeOutMs: 30000 });
  const bad = errors(two + 'a1.sinkgroups = g1 g2\na1.sinkgroups.g1.sinks = k1 k9\na1.sinkgroups.g1.processor.type = failover\na1.sinkgroups.g2.sinks = k1\na1.sinkgroups.g2.processor.type = load_balance\n');
  const text = bad.map(formatProblem).join('\n');
  assert.match(text, /:14: error: a1\.sinkgroups\.g1\.sinks: sink "k9", which is not in a1\.sinks/);
  assert.match(text, /a1\.sinkgroups\.g2\.sinks: sink "k1", already in group g1/);
  assert.match(text, /a1\.sinkgroups\.g2\.processor\.type: load_balance over 0 sink; expected at least two sinks/);
});

test('an interceptor of unknown type lists the known ones; selectors check channel names', () => {
  const errs = errors(GOOD + 'a1.sources.r1.interceptors = i1\na1.sources.r1.interceptors.i1.type = timestampz\na1.sources.r1.selector.type = multiplexing\na1.sources.r1.selector.default = c7\n');
  const text = errs.map(formatProblem).join('\n');
  assert.match(text, /:12: error: a1\.sources\.r1\.interceptors\.i1\.type: unknown interceptor type "timestampz"; expected one of .*timestamp/);
  assert.match(text, /c7/);
});

test('two file channels on one directory are an error at the second one\'s key; one channel may keep its checkpoint in a data dir', () => {
  const text = `a1.sources = r1
a1.channels = c1 c2
a1.sources.r1.type = netcat
a1.sources.r1.bind = localhost
a1.sources.r1.port = 44444
a1.sources.r1.channels = c1 c2
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = /var/ft/c1
a1.channels.c1.dataDirs = /var/ft/c1, /var/ft/d1
a1.channels.c2.type = file
a1.channels.c2.checkpointDir = /var/ft/c2
a1.channels.c2.dataDirs = /var/ft/x/../d1
`;
  const errs = errors(text);
  assert.is(errs.length, 1, errs.map(formatProblem).join('\n'));
  assert.is(errs[0].line, 12);
  assert.is(errs[0].key, 'a1.channels.c2.dataDirs');
  assert.match(errs[0].found, 'a directory channel c1 names too (its dataDirs)');
  assert.equal(errors(text.replace('/var/ft/x/../d1', '/var/ft/d2')), []);
});

test.run();
