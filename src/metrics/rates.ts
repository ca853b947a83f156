import type { ComponentKind } from './counters.ts';
import type { AgentSnapshot, ComponentSnapshot } from './snapshot.ts';

/**
 * Rates from successive snapshots: events/s now, a minute of history for the
 * sparklines, and how many errors happened recently (what tells "failing"
 * from "flowing"). Counters only ever grow while a component runs; a counter
 * that went down (or a changed StartTime) means the component restarted, and
 * the new value is what was counted since, as Prometheus' rate() assumes.
 */

/** The counter that is "throughput" for each kind, in order of preference. */
const FLOW: Record<ComponentKind, readonly string[]> = {
  SOURCE: ['EventAcceptedCount', 'EventReceivedCount'],
  CHANNEL: ['EventPutSuccessCount'],
  SINK: ['EventDrainSuccessCount'],
};

/** Counters that mean something went wrong (per kind). */
const ERROR_COUNTERS: Record<ComponentKind, readonly string[]> = {
  SOURCE: ['EventReadFail', 'GenericProcessingFail'],
  CHANNEL: ['EventPutErrorCount', 'EventTakeErrorCount'],
  SINK: ['EventWriteFail', 'ConnectionFailedCount', 'ChannelReadFail'],
};

/**
 * A component's errors so far: its ERROR_COUNTERS, except for a sink under flume-tail's runner, whose failed
 * deliveries are counted one per failure (DeliveryFailCount): EventWriteFail counts the events of every failed
 * attempt, and an outage of 4 failed attempts at 50 events read as 200 errors, as if 200 events were lost.
 */
export function errorCount(c: ComponentSnapshot): number {
  const k = c.counters;
  if (c.kind === 'SINK' && k.DeliveryFailCount !== undefined) return k.DeliveryFailCount + (k.ChannelReadFail ?? 0);
  return sum(c, ERROR_COUNTERS[c.kind]);
}

/** A source whose puts fail because the channel is full is held back, not broken. */
const PRESSURE_COUNTERS: Record<ComponentKind, readonly string[]> = {
  SOURCE: ['ChannelWriteFail'],
  CHANNEL: [],
  SINK: [],
};

export interface ComponentRates {
  /** events/s over the last interval */
  perSec: number;
  /** channel only: takes/s over the last interval */
  outPerSec: number;
  /** events/s, oldest first, one per interval, covering at most `windowMs` */
  history: number[];
  /** errors counted within `recentMs` */
  recentErrors: number;
  /** back-pressure failures (channel full) within `recentMs` */
  recentPressure: number;
}

export type RateView = Record<string, ComponentRates>;

export function componentKey(c: { kind: ComponentKind; name: string }): string {
  return `${c.kind}.${c.name}`;
}

/** Growth of a counter between two readings, treating a decrease as a restart from 0. */
export function counterDelta(prev: number, cur: number): number {
  return cur >= prev ? cur - prev : cur;
}

/** events/s between two readings taken `dtMs` apart (0 when no time passed). */
export function ratePerSec(prev: number, cur: number, dtMs: number): number {
  return dtMs > 0 ? (counterDelta(prev, cur) * 1000) / dtMs : 0;
}

export function flowCounter(c: ComponentSnapshot): number | undefined {
  for (const key of FLOW[c.kind]) if (c.counters[key] !== undefined) return c.counters[key];
  return undefined;
}

function sum(c: ComponentSnapshot, keys: readonly string[]): number {
  let n = 0;
  for (const k of keys) n += c.counters[k] ?? 0;
  return n;
}

interface Track {
  startTime: number;
  flow: number;
  out: number;
  errors: number;
  pressure: number;
  rates: ComponentRates;
  /** [at, events/s] within windowMs */
  samples: [number, number][];
  /** [at, errors, pressure] per interval within recentMs */
  incidents: [number, number, number][];
}

export interface RateTrackerOptions {
  /** sparkline span; default one minute */
  windowMs?: number;
  /** how long an error keeps a component "failing"/"backing off"; default 10 s */
  recentMs?: number;
}

export class RateTracker {
  private readonly windowMs: number;
  private readonly recentMs: number;
  private readonly tracks = new Map<string, Track>();
  private lastAt: number | undefined;

  constructor(opts: RateTrackerOptions = {}) {
    this.windowMs = opts.windowMs ?? 60_000;
    this.recentMs = opts.recentMs ?? 10_000;
  }

  /** Feed the next snapshot; returns the rates as of it. A repeated `at` changes nothing. */
  update(s: AgentSnapshot): RateView {
    const dt = this.lastAt === undefined ? 0 : s.at - this.lastAt;
    if (this.lastAt !== undefined && dt <= 0) return this.view();
    this.lastAt = s.at;
    const seen = new Set<string>();
    for (const c of s.components) {
      const key = componentKey(c);
      seen.add(key);
      const flow = flowCounter(c) ?? 0;
      const out = c.kind === 'CHANNEL' ? (c.counters.EventTakeSuccessCount ?? 0) : 0;
      const errors = errorCount(c);
      const pressure = sum(c, PRESSURE_COUNTERS[c.kind]);
      const startTime = c.counters.StartTime ?? 0;
      const prev = this.tracks.get(key);
      if (!prev) {
        // First sight: no interval to measure yet.
        this.tracks.set(key, {
          startTime, flow, out, errors, pressure, incidents: [], samples: [],
          rates: { perSec: 0, outPerSec: 0, history: [], recentErrors: 0, recentPressure: 0 },
        });
        continue;
      }
      const restarted = startTime !== prev.startTime;
      const d = (p: number, v: number): number => (restarted ? v : counterDelta(p, v));
      const perSec = (d(prev.flow, flow) * 1000) / dt;
      const outPerSec = (d(prev.out, out) * 1000) / dt;
      const newErrors = d(prev.errors, errors);
      const newPressure = d(prev.pressure, pressure);
      const incidents = prev.incidents.filter(([at]) => at > s.at - this.recentMs);
      if (newErrors > 0 || newPressure > 0) incidents.push([s.at, newErrors, newPressure]);
      const samples = prev.samples.filter(([at]) => at > s.at - this.windowMs);
      samples.push([s.at, perSec]);
      this.tracks.set(key, {
        startTime, flow, out, errors, pressure, incidents, samples,
        rates: {
          perSec, outPerSec, history: samples.map((x) => x[1]),
          recentErrors: incidents.reduce((n, i) => n + i[1], 0),
          recentPressure: incidents.reduce((n, i) => n + i[2], 0),
        },
      });
    }
    for (const key of this.tracks.keys()) if (!seen.has(key)) this.tracks.delete(key);
    return this.view();
  }

  view(): RateView {
    const out: RateView = {};
    for (const [key, t] of this.tracks) out[key] = t.rates;
    return out;
  }
}
