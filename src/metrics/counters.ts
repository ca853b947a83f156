/**
 * A component's counters, named as Flume names them (EventPutSuccessCount, …)
 * plus flume-tail's own. Values are numbers here; the JSON endpoint renders
 * them as strings the way Flume does.
 */
export type ComponentKind = 'SOURCE' | 'CHANNEL' | 'SINK';

export class CounterGroup {
  private readonly values = new Map<string, number>();
  /** Gauges computed on read (ChannelSize, fill %, lag …). */
  private readonly gauges = new Map<string, () => number>();
  startTime = 0;
  stopTime = 0;
  /** Structured extras for the dashboard (per-file lag, replay progress …); set by the component. */
  details?: () => Record<string, unknown>;

  constructor(readonly kind: ComponentKind, readonly name: string, readonly type: string, initial: readonly string[] = []) {
    for (const k of initial) this.values.set(k, 0);
  }

  inc(key: string, by = 1): void {
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  set(key: string, value: number): void {
    this.values.set(key, value);
  }

  get(key: string): number {
    const g = this.gauges.get(key);
    return g ? g() : (this.values.get(key) ?? 0);
  }

  gauge(key: string, read: () => number): void {
    this.gauges.set(key, read);
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of this.values) out[k] = v;
    for (const [k, g] of this.gauges) out[k] = g();
    out.StartTime = this.startTime;
    out.StopTime = this.stopTime;
    return out;
  }
}

export const SOURCE_COUNTERS = [
  'EventReceivedCount', 'EventAcceptedCount', 'AppendReceivedCount', 'AppendAcceptedCount',
  'AppendBatchReceivedCount', 'AppendBatchAcceptedCount', 'OpenConnectionCount',
  'ChannelWriteFail', 'EventReadFail', 'GenericProcessingFail',
] as const;

/**
 * EventTakeAttemptCount for a take of up to `max` events that got `got`, as
 * Flume counts it: a Flume sink calls take() once per event until the batch
 * is full or a call finds nothing, and each call is an attempt. So attempts
 * are never fewer than events taken.
 */
export function takeAttempts(got: number, max: number): number {
  return got < max ? got + 1 : got;
}

export const CHANNEL_COUNTERS = [
  'EventPutAttemptCount', 'EventPutSuccessCount', 'EventTakeAttemptCount', 'EventTakeSuccessCount',
] as const;

export const SINK_COUNTERS = [
  'ConnectionCreatedCount', 'ConnectionClosedCount', 'ConnectionFailedCount', 'BatchEmptyCount',
  'BatchUnderflowCount', 'BatchCompleteCount', 'EventDrainAttemptCount', 'EventDrainSuccessCount',
  'EventWriteFail', 'ChannelReadFail',
] as const;
