/**
 * What a response status means for the batch that produced it: Flume's three
 * status tables (`backoff`, `rollback`, `incrementMetrics`), each with a
 * default, per-code overrides (`503`) and group overrides (`5XX`); the most
 * specific entry wins.
 *
 * The one deliberate difference from Flume: Flume's defaults (rollback and
 * back off on every status) apply to 2xx too, so an unconfigured Flume HTTP
 * sink re-sends every accepted event forever. Here a 2xx commits, does not
 * back off and counts as delivered unless a `*.2XX`/`*.2NN` override says
 * otherwise. A config that already sets `rollback.2XX = false` etc. behaves
 * exactly as in Flume.
 *
 * `onReject` (ours) gives the 4xx statuses that will never succeed on a retry
 * (every 4xx except 408 and 429) a rule between the overrides and the
 * defaults: `rollback` retries them like Flume, `drop` commits them without
 * success (dropped, or written to `dlqDir`). Unset, they follow the defaults
 * exactly as in Flume.
 */

export type PolicyTable = 'backoff' | 'rollback' | 'incrementMetrics';

export interface StatusPolicyOptions {
  defaultBackoff: boolean;
  defaultRollback: boolean;
  defaultIncrementMetrics: boolean;
  /** Overrides keyed by `503` or `5XX` (upper case X). */
  backoff: ReadonlyMap<string, boolean>;
  rollback: ReadonlyMap<string, boolean>;
  incrementMetrics: ReadonlyMap<string, boolean>;
  onReject?: 'rollback' | 'drop';
}

/**
 * - `commit`: the batch was accepted; the runner commits it.
 * - `reject`: commit without success — the events are dropped (counted) or
 *   written to the dead-letter directory; nothing vanishes silently.
 * - `retry`: roll back; the batch is sent again after a backoff.
 * `backoff` asks for a pause before the next request (for `retry` the
 * backoff always happens: flume-tail never hot-loops on a failing status).
 */
export interface StatusDecision {
  action: 'commit' | 'reject' | 'retry';
  backoff: boolean;
}

/** `503`, `5XX` or `5xx`; returns the canonical key or undefined when not a status key. */
export function statusKey(raw: string): string | undefined {
  const k = raw.trim().toUpperCase();
  return /^[1-5](\d\d|XX)$/.test(k) ? k : undefined;
}

/** 4xx statuses that mean "this request will never be accepted as is". */
export function isPermanentReject(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

export class StatusPolicy {
  constructor(private readonly opts: StatusPolicyOptions) {}

  decide(status: number): StatusDecision {
    const rollback = this.lookup('rollback', status);
    const backoff = this.lookup('backoff', status);
    if (rollback) return { action: 'retry', backoff: true };
    const success = this.lookup('incrementMetrics', status);
    return { action: success ? 'commit' : 'reject', backoff };
  }

  /** One table's answer for `status`: exact override, then group, then flume-tail's class rule, then the default. */
  lookup(table: PolicyTable, status: number): boolean {
    const overrides = this.opts[table];
    const exact = overrides.get(String(status));
    if (exact !== undefined) return exact;
    const group = overrides.get(`${Math.floor(status / 100)}XX`);
    if (group !== undefined) return group;
    const builtIn = this.classRule(table, status);
    if (builtIn !== undefined) return builtIn;
    switch (table) {
      case 'backoff': return this.opts.defaultBackoff;
      case 'rollback': return this.opts.defaultRollback;
      case 'incrementMetrics': return this.opts.defaultIncrementMetrics;
    }
  }

  private classRule(table: PolicyTable, status: number): boolean | undefined {
    if (status >= 200 && status < 300) {
      // the fix for Flume's trap: a 2xx commits, without backoff, as a success
      return table === 'incrementMetrics';
    }
    if (this.opts.onReject !== undefined && isPermanentReject(status)) {
      const drop = this.opts.onReject === 'drop';
      if (table === 'incrementMetrics') return false;
      return !drop; // rollback: roll back and back off; drop: commit at once
    }
    return undefined;
  }
}

export const FLUME_POLICY_DEFAULTS = {
  defaultBackoff: true,
  defaultRollback: true,
  defaultIncrementMetrics: false,
} as const;
