import type { ComponentKind } from './counters.ts';
import { CHANNEL_COUNTERS, SINK_COUNTERS, SOURCE_COUNTERS } from './counters.ts';
import type { AgentSnapshot, ComponentSnapshot } from './snapshot.ts';

/**
 * Flume's `GET /metrics` body: `{"CHANNEL.c1": {"ChannelSize": "0", …}, …}`.
 * Flume writes every value as a string (its JMX attributes go through
 * `String.valueOf`), so longs print without decimals and doubles the way
 * Java's `Double.toString` does (`0.0`, `45.5`, `1.0E-4`). Like Flume, every
 * standard attribute of a kind is listed, as "0" when the component never
 * touches it, so dashboards built for Flume find the keys they expect.
 */
export type FlumeJson = Record<string, Record<string, string>>;

const STANDARD: Record<ComponentKind, readonly string[]> = {
  SOURCE: SOURCE_COUNTERS,
  CHANNEL: [...CHANNEL_COUNTERS, 'ChannelSize', 'ChannelCapacity'],
  SINK: SINK_COUNTERS,
};

/** Attributes Flume declares as `double`; everything else integral is a `long`. */
const DOUBLES = new Set(['ChannelFillPercentage']);

export function toFlumeJson(s: AgentSnapshot): FlumeJson {
  const out: FlumeJson = {};
  for (const c of s.components) out[`${c.kind}.${c.name}`] = componentJson(c);
  return out;
}

function componentJson(c: ComponentSnapshot): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const key of STANDARD[c.kind]) attrs[key] = '0';
  for (const [key, value] of Object.entries(c.counters)) {
    attrs[key] = DOUBLES.has(key) ? javaDouble(value) : javaNumber(value);
  }
  if (c.kind === 'CHANNEL' && c.counters.ChannelFillPercentage === undefined) {
    attrs.ChannelFillPercentage = javaDouble(fillPercentage(c.counters.ChannelSize ?? 0, c.counters.ChannelCapacity ?? 0));
  }
  attrs.Type = c.kind;
  attrs.StartTime = javaNumber(c.counters.StartTime ?? 0);
  attrs.StopTime = javaNumber(c.counters.StopTime ?? 0);
  return attrs;
}

/** Flume's ChannelCounter: size/capacity×100, and Double.MAX_VALUE when the capacity is 0. */
export function fillPercentage(size: number, capacity: number): number {
  return capacity === 0 ? Number.MAX_VALUE : (size * 100) / capacity;
}

/** A long prints as digits; a value with a fraction prints as a Java double. */
export function javaNumber(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : javaDouble(n);
}

/** `Double.toString`: plain notation in [1e-3, 1e7) with at least one decimal, else `d.dddE±n`. */
export function javaDouble(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(n);
  if (abs >= 1e-3 && abs < 1e7) {
    const plain = String(n);
    return plain.includes('.') ? plain : `${plain}.0`;
  }
  const [mantissa, exponent] = n.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

/**
 * The reverse, for `flume-tail top` watching a real Flume agent that has no
 * `/snapshot`: numbers back from strings, kinds from the `TYPE.name` keys.
 * Flume does not say which implementation a component is, so `type` is ''.
 * Kinds the dashboard does not show (CHANNEL_PROCESSOR, …) are left out.
 */
export function fromFlumeJson(json: unknown, agent: string, at = Date.now()): AgentSnapshot {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new TypeError('Flume metrics JSON must be an object of "TYPE.name" keys');
  }
  const components: ComponentSnapshot[] = [];
  let startedAt = Infinity;
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    const dot = key.indexOf('.');
    const kind = key.slice(0, dot);
    if (dot < 0 || (kind !== 'SOURCE' && kind !== 'CHANNEL' && kind !== 'SINK')) continue;
    if (value === null || typeof value !== 'object') continue;
    const counters: Record<string, number> = {};
    for (const [attr, raw] of Object.entries(value as Record<string, unknown>)) {
      if (attr === 'Type') continue;
      const n = typeof raw === 'number' ? raw : Number(raw);
      if (typeof raw !== 'boolean' && raw !== '' && Number.isFinite(n)) counters[attr] = n;
    }
    if (counters.StartTime > 0) startedAt = Math.min(startedAt, counters.StartTime);
    components.push({ kind, name: key.slice(dot + 1), type: '', counters });
  }
  return { agent, at, startedAt: Number.isFinite(startedAt) ? startedAt : at, components };
}
