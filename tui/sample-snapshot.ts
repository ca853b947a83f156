import type { AgentSnapshot } from '../src/metrics/snapshot.ts';

/**
 * A realistic agent snapshot (taildir → file channel → http sink, plus a
 * netcat → memory → logger pipeline), advanced `t` seconds at the given
 * rates. Used by the dashboard's tests and by scripts/bench-tui.ts so both
 * exercise every panel.
 */
export interface SampleOptions {
  /** seconds since start */
  t?: number;
  sourceRate?: number;
  sinkRate?: number;
  /** sink in failure backoff */
  backoffMs?: number;
  sinkFailures?: number;
  replayPercent?: number;
  files?: number;
}

export function sampleSnapshot(opts: SampleOptions = {}): AgentSnapshot {
  const t = opts.t ?? 0;
  const startedAt = 1_700_000_000_000;
  const at = startedAt + 60_000 + t * 1000;
  const inRate = opts.sourceRate ?? 1200;
  const outRate = opts.sinkRate ?? 1100;
  const accepted = 500_000 + Math.round(inRate * t);
  const drained = 480_000 + Math.round(outRate * t);
  const capacity = 100_000;
  const size = Math.min(capacity, Math.max(0, accepted - drained));
  const files = Array.from({ length: opts.files ?? 12 }, (_, i) => ({
    path: `/var/log/app/service-${String(i).padStart(2, '0')}.log`,
    offset: 1_000_000 * (i + 1),
    size: 1_000_000 * (i + 1) + ((i * 7919) % 13) * 4096,
    lag: ((i * 7919) % 13) * 4096,
  }));
  const started = { StartTime: startedAt, StopTime: 0 };
  return {
    agent: 'a1',
    at,
    startedAt,
    components: [
      {
        kind: 'SOURCE', name: 'r1', type: 'TAILDIR',
        counters: {
          EventReceivedCount: accepted, EventAcceptedCount: accepted, AppendBatchReceivedCount: Math.round(accepted / 100),
          AppendBatchAcceptedCount: Math.round(accepted / 100), ChannelWriteFail: 0, EventReadFail: 0, GenericProcessingFail: 0,
          ...started,
        },
        details: { files },
      },
      {
        kind: 'SOURCE', name: 'r2', type: 'netcat',
        counters: { EventReceivedCount: 1200 + 3 * t, EventAcceptedCount: 1200 + 3 * t, OpenConnectionCount: 2, ...started },
      },
      {
        kind: 'CHANNEL', name: 'c1', type: 'file',
        counters: {
          EventPutAttemptCount: accepted, EventPutSuccessCount: accepted, EventTakeAttemptCount: drained + 50, EventTakeSuccessCount: drained,
          ChannelSize: size, ChannelCapacity: capacity, ChannelFillPercentage: (size * 100) / capacity,
          ChannelBytesOnDisk: size * 230 + 4096, OldestEventAgeMs: size > 0 ? 3200 : 0,
          FsyncLatencyP50Us: 820, FsyncLatencyP99Us: 4100, CorruptRecordsSkipped: 0,
          ...(opts.replayPercent !== undefined ? { ReplayProgressPercent: opts.replayPercent, ReplayEventsPerSec: 250_000 } : {}),
          ...started,
        },
      },
      {
        kind: 'CHANNEL', name: 'c2', type: 'memory',
        counters: {
          EventPutAttemptCount: 1200 + 3 * t, EventPutSuccessCount: 1200 + 3 * t, EventTakeAttemptCount: 1200 + 3 * t,
          EventTakeSuccessCount: 1200 + 3 * t, ChannelSize: 0, ChannelCapacity: 100, ChannelFillPercentage: 0, ...started,
        },
      },
      {
        kind: 'SINK', name: 'k1', type: 'http',
        counters: {
          EventDrainAttemptCount: drained + (opts.sinkFailures ?? 0), EventDrainSuccessCount: drained,
          BatchCompleteCount: Math.round(drained / 100), BatchEmptyCount: 3, BatchUnderflowCount: 12,
          ConnectionCreatedCount: 4, ConnectionClosedCount: 3, ConnectionFailedCount: 0,
          EventWriteFail: opts.sinkFailures ?? 0, ChannelReadFail: 0,
          BackoffMs: opts.backoffMs ?? 0, RetryCount: opts.backoffMs ? 3 : 0, LastStatus: opts.backoffMs ? 503 : 200,
          ...started,
        },
      },
      {
        kind: 'SINK', name: 'k2', type: 'logger',
        counters: { EventDrainAttemptCount: 1200 + 3 * t, EventDrainSuccessCount: 1200 + 3 * t, ...started },
      },
    ],
  };
}
