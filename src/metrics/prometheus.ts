import type { ComponentKind } from './counters.ts';
import type { AgentSnapshot } from './snapshot.ts';

/**
 * Prometheus text exposition (format 0.0.4) of one snapshot.
 *
 * Naming: `flume_<kind>_<counter in snake_case>` with `component` and `type`
 * labels, e.g. `flume_channel_size{component="c1",type="memory"}`. The kind
 * is not repeated when the counter already starts with it (`ChannelSize` →
 * `flume_channel_size`). Monotonic counters lose Flume's `Count` suffix and
 * gain `_total` (`EventPutSuccessCount` → `flume_channel_event_put_success_total`).
 * All samples of one name are grouped under a single HELP/TYPE, as the format
 * requires, even when several components share it.
 */

/**
 * Monotonic: Flume's `…Count`/`…Fail` and our `…Skipped`/`…Dropped`/
 * `…DeadLettered`/`ResponseCount…`, except the point-in-time values below.
 */
const GAUGE_EXCEPTIONS = new Set(['OpenConnectionCount']);
const COUNTER_NAME = /(Count|Fail|Skipped|Dropped|DeadLettered)$|^ResponseCount/;

/** HELP lines for the attributes whose meaning is not obvious from the name. */
const HELP: Record<string, string> = {
  ChannelSize: 'Events in the channel now.',
  ChannelCapacity: 'Events the channel can hold.',
  ChannelFillPercentage: 'ChannelSize / ChannelCapacity × 100.',
  ChannelBytesOnDisk: 'Bytes of the file channel\'s log segments on disk.',
  OldestEventAgeMs: 'Age of the oldest event still in the channel, in milliseconds.',
  BackoffMs: 'Current backoff of the sink in milliseconds (0 while flowing).',
  StartTime: 'When the component started, epoch milliseconds.',
  StopTime: 'When the component stopped, epoch milliseconds (0 while running).',
};

interface Family {
  type: 'counter' | 'gauge';
  help: string;
  samples: string[];
}

export function toPrometheus(s: AgentSnapshot): string {
  const families = new Map<string, Family>();
  const add = (name: string, type: Family['type'], help: string, labels: Record<string, string>, value: number): void => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { type, help, samples: [] }));
    f.samples.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
  };

  add('flume_agent_info', 'gauge', 'The agent\'s name; always 1.', { agent: s.agent }, 1);
  add('flume_agent_start_time_ms', 'gauge', 'When the agent started, epoch milliseconds.', { agent: s.agent }, s.startedAt);

  for (const c of s.components) {
    const labels = { component: c.name, type: c.type };
    for (const [key, value] of Object.entries(c.counters)) {
      const counter = COUNTER_NAME.test(key) && !GAUGE_EXCEPTIONS.has(key);
      const name = metricName(c.kind, key, counter);
      add(name, counter ? 'counter' : 'gauge', HELP[key] ?? `Flume ${c.kind.toLowerCase()} attribute ${key}.`, labels, value);
    }
    const files = c.details?.files;
    if (Array.isArray(files)) {
      for (const f of files as { path?: unknown; lag?: unknown; offset?: unknown; size?: unknown }[]) {
        if (typeof f?.path !== 'string') continue;
        const fileLabels = { ...labels, path: f.path };
        if (typeof f.lag === 'number') add(`flume_${kindPrefix(c.kind)}_file_lag_bytes`, 'gauge', 'Bytes of a tailed file not yet read (size − offset).', fileLabels, f.lag);
        if (typeof f.offset === 'number') add(`flume_${kindPrefix(c.kind)}_file_offset_bytes`, 'gauge', 'Committed read offset in a tailed file.', fileLabels, f.offset);
        if (typeof f.size === 'number') add(`flume_${kindPrefix(c.kind)}_file_size_bytes`, 'gauge', 'Size of a tailed file.', fileLabels, f.size);
      }
    }
  }

  let out = '';
  for (const [name, f] of families) {
    out += `# HELP ${name} ${escapeHelp(f.help)}\n# TYPE ${name} ${f.type}\n`;
    for (const line of f.samples) out += `${line}\n`;
  }
  return out;
}

function kindPrefix(kind: ComponentKind): string {
  return kind.toLowerCase();
}

/** `EventPutSuccessCount` on a channel → `flume_channel_event_put_success_total`. */
export function metricName(kind: ComponentKind, key: string, counter: boolean): string {
  const prefix = kindPrefix(kind);
  let snake = sanitize(key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([a-z]{2,})([0-9])/g, '$1_$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2').toLowerCase());
  if (snake.startsWith(`${prefix}_`)) snake = snake.slice(prefix.length + 1);
  if (counter) snake = `${snake.replace(/_count$/, '').replace(/^response_count_(.*)$/, 'responses_$1')}_total`;
  return `flume_${prefix}_${snake}`;
}

/** Metric names allow `[a-zA-Z_:][a-zA-Z0-9_:]*`; we keep to `[a-z0-9_]` and never lead with a digit. */
function sanitize(name: string): string {
  const s = name.replace(/[^a-z0-9_]+/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '');
  return /^[0-9]/.test(s) || s === '' ? `_${s}` : s;
}

function formatLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** Label values escape backslash, double quote and newline. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and newline only. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}
