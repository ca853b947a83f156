import type { ComponentKind, CounterGroup } from './counters.ts';

/**
 * One consistent view of every component's counters. The same snapshot feeds
 * `/metrics` (JSON), `/metrics/prometheus`, the `--tui` dashboard and `top`,
 * so they never disagree.
 */
export interface ComponentSnapshot {
  kind: ComponentKind;
  name: string;
  type: string;
  counters: Record<string, number>;
  /** Structured extras: taildir's per-file lag, a file channel's replay state, a sink's backoff state. */
  details?: Record<string, unknown>;
}

export interface AgentSnapshot {
  agent: string;
  /** epoch ms when taken */
  at: number;
  startedAt: number;
  components: ComponentSnapshot[];
}

export function snapshotOf(agent: string, startedAt: number, groups: readonly CounterGroup[]): AgentSnapshot {
  return {
    agent,
    at: Date.now(),
    startedAt,
    components: groups.map((g) => {
      const details = g.details?.();
      return { kind: g.kind, name: g.name, type: g.type, counters: g.snapshot(), ...(details ? { details } : {}) };
    }),
  };
}
