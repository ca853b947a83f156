import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';
import { DeliveryError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { CounterGroup, SINK_COUNTERS } from '../metrics/counters.ts';
import type { DeliveryResult, Sink } from './sink.ts';

/** Flume's sink processors: which member of a sink group gets each batch. */
export type ProcessorOptions =
  | { type: 'failover'; priorities: Record<string, number>; maxPenaltyMs: number }
  | { type: 'load_balance'; selector: 'round_robin' | 'random'; backoff: boolean; maxTimeOutMs: number };

const PROCESSOR_KEYS = 'type, priority.<sink>, maxpenalty (failover); selector, backoff, selector.maxTimeOut (load_balance)';

/** Reads `<agent>.sinkgroups.<g>.processor.*` (ctx is the processor's context) for the group's members. */
export function parseProcessor(ctx: ComponentContext, members: readonly string[]): ProcessorOptions | undefined {
  const type = ctx.oneOf('type', 'default', ['default', 'failover', 'load_balance'] as const);
  let out: ProcessorOptions | undefined;
  if (type === 'failover') {
    const priorities: Record<string, number> = {};
    for (const [sink, e] of ctx.sub('priority')) {
      if (!members.includes(sink)) ctx.error(`priority.${sink}`, `a priority for "${sink}", which is not in this group`, `one of ${members.join(', ')}`);
      else if (!/^-?\d+$/.test(e.value.trim())) ctx.error(`priority.${sink}`, `"${e.value}"`, 'an integer (higher is tried first)');
      else priorities[sink] = Number(e.value);
    }
    out = { type, priorities, maxPenaltyMs: ctx.int('maxpenalty', 30_000, { min: 0 }) };
  } else if (type === 'load_balance') {
    if (members.length < 2) ctx.error('type', `load_balance over ${members.length} sink`, 'at least two sinks in the group');
    out = {
      type,
      selector: ctx.oneOf('selector', 'round_robin', ['round_robin', 'random'] as const),
      backoff: ctx.bool('backoff', false),
      maxTimeOutMs: ctx.int('selector.maxTimeOut', 30_000, { min: 0 }),
    };
  } else if (members.length > 1) {
    ctx.error('type', `the default processor over ${members.length} sinks`, 'failover or load_balance (the default processor drives exactly one sink)');
  }
  ctx.reportUnknown(`a key of the sink processor: ${PROCESSOR_KEYS}`);
  return out;
}

interface Member {
  sink: Sink;
  priority: number;
  failures: number;
  /** epoch ms before which this member is not tried (penalty / backoff) */
  until: number;
}

/**
 * A sink group as one sink for the SinkRunner: `failover` sends each batch to
 * the highest-priority member that is not serving a penalty (a member that
 * fails is penalised min(2^failures s, maxpenalty) and the next one is tried
 * at once); `load_balance` spreads batches round robin (or at random) and, with
 * `backoff`, rests a failing member exponentially up to `selector.maxTimeOut`.
 * A batch fails only when every member it was offered failed; the runner then
 * rolls it back and backs off, as for a single sink.
 */
export class SinkGroup implements Sink {
  readonly counters: CounterGroup;
  private readonly members: Member[];
  private next = 0;

  constructor(
    readonly name: string,
    sinks: readonly Sink[],
    private readonly opts: ProcessorOptions,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.counters = new CounterGroup('SINK', name, opts.type, SINK_COUNTERS);
    // Flume gives members without a priority -1, -2, … (in hash order); we use config order, so ties are stable.
    this.members = sinks.map((sink, i) => ({
      sink,
      priority: opts.type === 'failover' ? (opts.priorities[sink.name] ?? -(i + 1)) : 0,
      failures: 0,
      until: 0,
    }));
    this.counters.details = () => ({
      processor: opts.type,
      members: this.members.map((m) => ({ sink: m.sink.name, priority: m.priority, failures: m.failures, restingMs: Math.max(0, m.until - this.now()) })),
    });
  }

  get sinks(): Sink[] {
    return this.members.map((m) => m.sink);
  }

  async start(): Promise<void> {
    for (const m of this.members) await m.sink.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.sink.stop()));
  }

  /** The order in which members are offered this batch. */
  private order(): Member[] {
    const t = this.now();
    if (this.opts.type === 'failover') {
      const ready = this.members.filter((m) => m.until <= t).sort((a, b) => b.priority - a.priority);
      return ready.length ? ready : [...this.members].sort((a, b) => a.until - b.until).slice(0, 1); // all resting: the one due first
    }
    const ready = this.opts.backoff ? this.members.filter((m) => m.until <= t) : [...this.members];
    const pool = ready.length ? ready : [...this.members];
    if (this.opts.selector === 'random') {
      for (let i = pool.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [pool[i], pool[j]] = [pool[j], pool[i]];
      }
      return pool;
    }
    const start = this.next++ % pool.length;
    return [...pool.slice(start), ...pool.slice(0, start)];
  }

  async deliver(events: FlumeEvent[]): Promise<void | DeliveryResult> {
    const errors: string[] = [];
    let retryAfterMs: number | undefined;
    for (const m of this.order()) {
      // members keep their own drain counters, so the dashboard shows which one carries the traffic
      m.sink.counters.inc('EventDrainAttemptCount', events.length);
      try {
        const result = await m.sink.deliver(events);
        m.sink.counters.inc('EventDrainSuccessCount', events.length - (result?.rejected ?? 0));
        if (m.failures > 0) this.log.info(`sink ${m.sink.name} delivers again after ${m.failures} failures`);
        m.failures = 0;
        m.until = 0;
        return result;
      } catch (err) {
        m.failures++;
        const cap = this.opts.type === 'failover' ? this.opts.maxPenaltyMs : this.opts.backoff ? this.opts.maxTimeOutMs : 0;
        m.until = this.now() + Math.min(cap, 1000 * 2 ** m.failures);
        if (err instanceof DeliveryError && err.retryAfterMs !== undefined) retryAfterMs = Math.min(retryAfterMs ?? Infinity, err.retryAfterMs);
        errors.push(`${m.sink.name}: ${(err as Error).message}`);
        this.log.rateLimited('warn', `group:${this.name}:${m.sink.name}`, `sink ${m.sink.name} failed (${(err as Error).message}); ${this.opts.type === 'failover' ? 'failing over' : 'trying the next sink'}`);
      }
    }
    throw new DeliveryError(this.name, `every sink of the group failed: ${errors.join('; ')}`, retryAfterMs !== undefined ? { retryAfterMs } : {});
  }
}
