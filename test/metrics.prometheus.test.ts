import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { escapeLabel, metricName, toPrometheus } from '../src/metrics/prometheus.ts';
import type { AgentSnapshot } from '../src/metrics/snapshot.ts';
import { startMetricsServer } from '../src/metrics/server.ts';

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Family { type: string; help: string; samples: Sample[] }

/**
 * A deliberately strict reader of the 0.0.4 text format: every family has
 * HELP then TYPE before its samples, a family appears once, each sample line
 * is `name{k="v",…} value` with a valid name, escapes limited to \\ \" \n,
 * no duplicate series. Anything else throws with the line number.
 */
function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seenSeries = new Set<string>();
  let current: string | undefined;
  const lines = text.split('\n');
  assert.is(lines.pop(), '', 'the text ends with a newline');
  lines.forEach((line, i) => {
    const fail = (why: string): never => { throw new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`); };
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/))) {
      if (families.has(m[1])) fail('family repeated');
      families.set(m[1], { type: '', help: m[2], samples: [] });
      current = m[1];
    } else if ((m = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/))) {
      if (m[1] !== current || families.get(m[1])?.type) fail('TYPE without its HELP');
      families.get(m[1])!.type = m[2];
    } else if ((m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/))) {
      if (m[1] !== current || !families.get(current)?.type) fail('sample outside its family');
      const labels: Record<string, string> = {};
      let rest = m[2] ?? '';
      while (rest) {
        const lm = rest.match(/^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/);
        if (!lm) fail('bad labels');
        labels[lm![1]] = lm![2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        rest = rest.slice(lm![0].length);
      }
      const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3] === 'NaN' ? NaN : Number(m[3]);
      if (!/^([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]Inf|NaN)$/.test(m[3])) fail('bad value');
      const series = `${m[1]}${JSON.stringify(labels)}`;
      if (seenSeries.has(series)) fail('duplicate series');
      seenSeries.add(series);
      families.get(current!)!.samples.push({ name: m[1], labels, value: v });
    } else {
      fail('not HELP, TYPE or a sample');
    }
  });
  for (const [name, f] of families) if (!f.samples.length) throw new Error(`family ${name} has no samples`);
  return families;
}

const snap: AgentSnapshot = {
  agent: 'a1', at: 2, startedAt: 1,
  components: [
    { kind: 'SOURCE', name: 'r1', type: 'TAILDIR', counters: { EventAcceptedCount: 42, OpenConnectionCount: 1, ChannelWriteFail: 2, StartTime: 1, StopTime: 0 },
      details: { files: [{ path: '/var/log/we"ird\\name\n.log', lag: 4096, offset: 10, size: 4106 }] } },
    { kind: 'CHANNEL', name: 'c1', type: 'memory', counters: { ChannelSize: 25, ChannelCapacity: 100, ChannelFillPercentage: 25, EventPutSuccessCount: 60 } },
    { kind: 'CHANNEL', name: 'c2', type: 'file', counters: { ChannelSize: 3, ChannelCapacity: 0, ChannelFillPercentage: Number.MAX_VALUE, ChannelBytesOnDisk: 1.5e9, 'Weird-Key%x': 7 } },
    { kind: 'SINK', name: 'k1', type: 'http', counters: { EventDrainSuccessCount: 35, BackoffMs: 500, RetryCount: 2, ConsecutiveFailures: 2, EventsDropped: 1, ResponseCount5xx: 2 } },
  ],
};

test('the text parses strictly: HELP and TYPE precede each family, every sample is name{labels} value', () => {
  const families = parsePrometheus(toPrometheus(snap));
  assert.ok(families.size > 10);
});

test('names follow flume_<kind>_<snake> with component and type labels', () => {
  const f = parsePrometheus(toPrometheus(snap));
  const size = f.get('flume_channel_size');
  assert.is(size?.type, 'gauge');
  assert.equal(size?.samples.map((s) => [s.labels.component, s.labels.type, s.value]), [['c1', 'memory', 25], ['c2', 'file', 3]]);
  assert.is(f.get('flume_channel_capacity')?.samples[0].value, 100);
  assert.is(f.get('flume_channel_fill_percentage')?.samples[1].value, Number.MAX_VALUE);
  assert.is(f.get('flume_channel_bytes_on_disk')?.samples[0].value, 1.5e9);
});

test('monotonic counters end in _total and are typed counter; point-in-time values are gauges', () => {
  const f = parsePrometheus(toPrometheus(snap));
  assert.is(f.get('flume_source_event_accepted_total')?.type, 'counter');
  assert.is(f.get('flume_source_event_accepted_total')?.samples[0].value, 42);
  assert.is(f.get('flume_source_channel_write_fail_total')?.type, 'counter');
  assert.is(f.get('flume_channel_event_put_success_total')?.type, 'counter');
  assert.is(f.get('flume_sink_event_drain_success_total')?.samples[0].value, 35);
  assert.is(f.get('flume_source_open_connection_count')?.type, 'gauge');
  assert.is(f.get('flume_sink_backoff_ms')?.type, 'gauge');
  assert.is(f.get('flume_sink_retry_total')?.type, 'counter');
  assert.is(f.get('flume_sink_consecutive_failures')?.type, 'gauge');
  assert.is(f.get('flume_sink_events_dropped_total')?.type, 'counter');
  assert.is(f.get('flume_sink_responses_5xx_total')?.samples[0].value, 2);
});

test('odd counter names are sanitised; label values are escaped and parse back to the original', () => {
  const f = parsePrometheus(toPrometheus(snap));
  assert.ok(f.has('flume_channel_weird_key_x'));
  const lag = f.get('flume_source_file_lag_bytes');
  assert.is(lag?.samples[0].labels.path, '/var/log/we"ird\\name\n.log');
  assert.is(lag?.samples[0].value, 4096);
  assert.is(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  assert.is(metricName('SINK', 'EventDrainSuccessCount', true), 'flume_sink_event_drain_success_total');
  assert.is(metricName('CHANNEL', 'ChannelFillPercentage', false), 'flume_channel_fill_percentage');
  assert.is(metricName('SOURCE', '9Lives', false), 'flume_source__9_lives');
  assert.is(metricName('CHANNEL', 'FsyncLatencyP99Us', false), 'flume_channel_fsync_latency_p99_us');
  assert.is(metricName('SINK', 'ResponseCount5xx', true), 'flume_sink_responses_5xx_total');
});

test('the agent is named once', () => {
  const f = parsePrometheus(toPrometheus(snap));
  assert.equal(f.get('flume_agent_info')?.samples, [{ name: 'flume_agent_info', labels: { agent: 'a1' }, value: 1 }]);
});

test('GET /metrics/prometheus serves the same text, and counters move as the snapshot changes', async () => {
  let accepted = 42;
  const server = await startMetricsServer({ port: 0, snapshot: () => ({
    ...snap, components: [{ ...snap.components[0], counters: { ...snap.components[0].counters, EventAcceptedCount: accepted } }, ...snap.components.slice(1)],
  }) });
  try {
    const read = async (): Promise<Map<string, Family>> => {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics/prometheus`);
      assert.is(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return parsePrometheus(await res.text());
    };
    assert.is((await read()).get('flume_source_event_accepted_total')?.samples[0].value, 42);
    accepted = 1042;
    assert.is((await read()).get('flume_source_event_accepted_total')?.samples[0].value, 1042);
  } finally {
    await server.close();
  }
});

test('the parser used here really is strict', () => {
  assert.throws(() => parsePrometheus('x 1\n'), /outside its family/);
  assert.throws(() => parsePrometheus('# HELP x h\n# TYPE x gauge\nx{a="b} 1\n'), /bad labels/);
  assert.throws(() => parsePrometheus('# HELP x h\n# TYPE x gauge\nx 1\nx 2\n'), /duplicate/);
  assert.throws(() => parsePrometheus('# HELP x h\n# TYPE x gauge\nx one\n'), /bad value/);
});

test.run();
