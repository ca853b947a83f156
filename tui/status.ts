import type { ComponentRates } from '../src/metrics/rates.ts';
import type { ComponentSnapshot } from '../src/metrics/snapshot.ts';
import { compact, duration, percent } from './format.ts';

/**
 * What a component is doing, as a colour AND a word with a symbol, so the
 * meaning survives a monochrome terminal, a colour-blind reader and a test
 * reading the frame.
 */
export type Level = 'flowing' | 'backoff' | 'failing' | 'idle' | 'stopped';

export interface Status {
  level: Level;
  /** "● FLOWING", "◐ BACKOFF", "✖ FAILING", "○ IDLE", "■ STOPPED" */
  label: string;
  color: 'green' | 'yellow' | 'red' | 'gray';
  /** why, when it is not obvious: "retry in 2.0s · 4 failures · last HTTP 503" */
  detail: string;
}

const LOOK: Record<Level, Pick<Status, 'label' | 'color'>> = {
  flowing: { label: '● FLOWING', color: 'green' },
  backoff: { label: '◐ BACKOFF', color: 'yellow' },
  failing: { label: '✖ FAILING', color: 'red' },
  idle: { label: '○ IDLE', color: 'gray' },
  stopped: { label: '■ STOPPED', color: 'gray' },
};

function status(level: Level, detail = ''): Status {
  return { level, ...LOOK[level], detail };
}

/** Consecutive failures after which a sink that delivers nothing is failing, not merely backing off. */
const FAILING_AFTER = 3;

export function sinkStatus(c: ComponentSnapshot, r: ComponentRates | undefined): Status {
  const k = c.counters;
  if ((k.StopTime ?? 0) > 0) return status('stopped');
  const perSec = r?.perSec ?? 0;
  const recentErrors = r?.recentErrors ?? 0;
  const backoffMs = k.BackoffMs ?? 0;
  const failures = k.ConsecutiveFailures;
  const parts: string[] = [];
  if (backoffMs > 0) parts.push(`backoff ${duration(backoffMs)}`);
  if (failures) parts.push(`${failures} failed in a row`);
  if (k.LastStatus) parts.push(`last HTTP ${k.LastStatus}`);
  if (recentErrors > 0) parts.push(`${compact(recentErrors)} errors in 10s`);
  // The http sink explains its last failure (already stripped of credentials); worth more than counts.
  const lastError = c.details?.lastError;
  const troubled = backoffMs > 0 || (failures ?? 0) > 0 || recentErrors > 0;
  if (troubled && typeof lastError === 'string' && lastError) parts.push(lastError);
  // events its policy gave up on or set aside: committed, so never retried, and not delivered; said while
  // flowing too (alone then: a healthy sink's last status is no news), since they are what an operator must
  // not miss (the row shows them as well, when it has room)
  const lost = lostEvents(c);
  const lostParts = [
    ...(lost.dropped > 0 ? [`${compact(lost.dropped)} dropped`] : []),
    ...(lost.deadLettered > 0 ? [`${compact(lost.deadLettered)} dead-lettered`] : []),
  ];
  const detail = [...parts, ...lostParts].join(' · ');
  const failing = perSec === 0 && (failures !== undefined ? failures >= FAILING_AFTER : recentErrors > 0);
  if (failing) return status('failing', detail);
  if (troubled) return status('backoff', detail);
  return status(perSec > 0 ? 'flowing' : 'idle', lostParts.join(' · '));
}

/** A sink's events dropped by its policy (EventsDropped) and written to its dead-letter dir (EventsDeadLettered). */
export function lostEvents(c: ComponentSnapshot): { dropped: number; deadLettered: number } {
  if (c.kind !== 'SINK') return { dropped: 0, deadLettered: 0 };
  return { dropped: c.counters.EventsDropped ?? 0, deadLettered: c.counters.EventsDeadLettered ?? 0 };
}

export function sourceStatus(c: ComponentSnapshot, r: ComponentRates | undefined): Status {
  if ((c.counters.StopTime ?? 0) > 0) return status('stopped');
  const perSec = r?.perSec ?? 0;
  if ((r?.recentErrors ?? 0) > 0) {
    const detail = `${compact(r!.recentErrors)} read errors in 10s`;
    return status(perSec === 0 ? 'failing' : 'backoff', detail);
  }
  // The channel refused puts: the source is held back and retries; nothing is lost.
  if ((r?.recentPressure ?? 0) > 0) return status('backoff', 'channel full, retrying');
  return status(perSec > 0 ? 'flowing' : 'idle');
}

export type ChannelLevel = 'ok' | 'high' | 'full' | 'replaying' | 'failed' | 'unhealthy' | 'stopped' | 'not-started';

export interface ChannelStatus {
  level: ChannelLevel;
  label: string;
  color: 'green' | 'yellow' | 'red' | 'gray';
}

/** Fill above which a channel is worth a look, and at which sources will be refused. */
const HIGH_FILL = 75;
const FULL_FILL = 95;

export function channelStatus(c: ComponentSnapshot): ChannelStatus {
  const k = c.counters;
  if ((k.StopTime ?? 0) > 0) return { level: 'stopped', label: '■ STOPPED', color: 'gray' };
  // a file channel that is not open and says it is unhealthy, and was not stopped, failed: its start (a lock, a
  // replay error) or its segments (deleted under it); its replay progress, 0 if it never began, is no progress
  if (k.Unhealthy === 1 && k.Open === 0) return { level: 'failed', label: '✖ FAILED', color: 'red' };
  // the agent's start failed at another component before this one's turn
  if (k.StartTime === 0) return { level: 'not-started', label: '○ NOT STARTED', color: 'gray' };
  if (k.ReplayProgressPercent !== undefined && k.ReplayProgressPercent < 100) return { level: 'replaying', label: `◐ REPLAYING ${percent(k.ReplayProgressPercent)}`, color: 'yellow' };
  // open, and its last write failed (until a put succeeds)
  if (k.Unhealthy === 1) return { level: 'unhealthy', label: '✖ WRITE FAILED', color: 'red' };
  const fill = fillOf(c);
  if (fill >= FULL_FILL) return { level: 'full', label: '✖ FULL', color: 'red' };
  if (fill >= HIGH_FILL) return { level: 'high', label: '◐ HIGH', color: 'yellow' };
  return { level: 'ok', label: '● OK', color: 'green' };
}

/** A file channel replaying its log: started, neither failed nor stopped, and not at 100 % yet. */
export function replaying(c: ComponentSnapshot): boolean {
  return channelStatus(c).level === 'replaying';
}

export function fillOf(c: ComponentSnapshot): number {
  const k = c.counters;
  if (k.ChannelFillPercentage !== undefined && k.ChannelFillPercentage <= 100) return k.ChannelFillPercentage;
  const cap = k.ChannelCapacity ?? 0;
  return cap > 0 ? ((k.ChannelSize ?? 0) * 100) / cap : 0;
}
