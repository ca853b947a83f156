import type { Channel, ChannelDeps, ChannelSpec, Taken } from './channel.ts';
import type { ComponentContext } from '../config/context.ts';
import { eventBytes, type FlumeEvent } from '../core/event.ts';
import { ChannelClosedError, ChannelFullError, TransactionTooLargeError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { Turns } from '../core/turns.ts';
import { CHANNEL_COUNTERS, CounterGroup, takeAttempts } from '../metrics/counters.ts';
import { Fifo } from './event-queue.ts';
import { Waiters } from './waiters.ts';

export interface MemoryChannelOptions {
  capacity: number;
  transactionCapacity: number;
  /** bytes; 0 = unbounded */
  byteCapacity: number;
  byteCapacityBufferPercentage: number;
  keepAliveMs: number;
}

interface Queued {
  seq: number;
  event: FlumeEvent;
  bytes: number;
  putAt: number;
}

/**
 * Flume's memory channel: fast, bounded, not durable. Capacity counts events
 * stored plus events in open takes (a take frees room only when committed,
 * as in Flume). A put that does not fit waits up to keep-alive for room, then
 * fails with ChannelFullError. Unlike Flume, a take on an empty channel
 * returns at once; the sink runner waits on `waitForEvents` instead.
 */
export class MemoryChannel implements Channel {
  readonly counters: CounterGroup;
  private readonly queue = new Fifo<Queued>();
  /** Rolled-back events, kept sorted by put order, served before the queue. */
  private returned: Queued[] = [];
  private inFlight = 0;
  private bytesUsed = 0;
  private seq = 0;
  private open = false;
  private readonly putWaiters = new Waiters();
  /** puts wait for room in the order they came */
  private readonly admissions = new Turns();
  private readonly takeWaiters = new Waiters();
  private readonly byteLimit: number;

  constructor(
    readonly name: string,
    private readonly opts: MemoryChannelOptions,
    /** says at stop how many events the channel drops: they were acknowledged to their sources */
    private readonly log?: Logger,
  ) {
    this.counters = new CounterGroup('CHANNEL', name, 'memory', CHANNEL_COUNTERS);
    this.counters.gauge('ChannelSize', () => this.size);
    this.counters.gauge('ChannelCapacity', () => this.capacity);
    this.counters.gauge('ChannelFillPercentage', () => (this.size / this.capacity) * 100);
    this.counters.gauge('ChannelBytes', () => this.bytesUsed);
    this.counters.gauge('OldestEventAgeMs', () => {
      const oldest = this.returned[0] ?? this.queue.peek();
      return oldest ? Date.now() - oldest.putAt : 0;
    });
    this.byteLimit = opts.byteCapacity > 0 ? Math.floor(opts.byteCapacity * (1 - opts.byteCapacityBufferPercentage / 100)) : Infinity;
  }

  get capacity(): number { return this.opts.capacity; }
  get transactionCapacity(): number { return this.opts.transactionCapacity; }
  get size(): number { return this.queue.length + this.returned.length + this.inFlight; }

  async start(): Promise<void> {
    this.open = true;
    this.counters.startTime = Date.now();
  }

  async stop(): Promise<void> {
    this.open = false;
    this.counters.stopTime = Date.now();
    // as in Flume, a memory channel's events end with the process; an operator should read that in the log
    const left = this.size;
    if (left > 0) {
      this.log?.warn(`memory channel ${this.name}: ${left} event(s) not yet delivered are discarded at stop ` +
        '(their sources were told they were accepted); a file channel keeps them across a restart');
    }
    this.putWaiters.notify();
    this.takeWaiters.notify();
  }

  async put(events: FlumeEvent[]): Promise<void> {
    if (!this.open) throw new ChannelClosedError(this.name, 'not started');
    this.counters.inc('EventPutAttemptCount', events.length);
    if (events.length === 0) return;
    if (events.length > this.opts.transactionCapacity) {
      throw new TransactionTooLargeError(this.name, events.length, this.opts.transactionCapacity);
    }
    // keep-alive counts from the put, not from its turn
    const deadline = Date.now() + this.opts.keepAliveMs;
    await this.admissions.run(() => this.admit(events, deadline));
  }

  /** Waits for room for `events` (puts wait in the order they came, see Turns), then queues them. */
  private async admit(events: FlumeEvent[], deadline: number): Promise<void> {
    // the channel may have stopped while this put waited for its turn
    if (!this.open) throw new ChannelClosedError(this.name, 'stopped');
    let bytes = 0;
    for (const e of events) bytes += eventBytes(e);
    while (!this.fits(events.length, bytes)) {
      const left = deadline - Date.now();
      if (left <= 0 || !this.open) {
        throw new ChannelFullError(
          this.name,
          this.size + events.length > this.capacity
            ? `${this.size} of ${this.capacity} events used, ${events.length} more do not fit (sinks are not keeping up)`
            : `byteCapacity ${this.opts.byteCapacity} reached`,
        );
      }
      await this.putWaiters.wait(left);
    }
    const now = Date.now();
    for (const event of events) {
      const b = eventBytes(event);
      this.queue.push({ seq: this.seq++, event, bytes: b, putAt: now });
    }
    this.bytesUsed += bytes;
    this.counters.inc('EventPutSuccessCount', events.length);
    this.takeWaiters.notify();
  }

  private fits(n: number, bytes: number): boolean {
    return this.size + n <= this.capacity && (this.bytesUsed + bytes <= this.byteLimit || this.bytesUsed === 0);
  }

  async take(max: number, maxBytes = Infinity): Promise<Taken> {
    if (!this.open) throw new ChannelClosedError(this.name, 'not started');
    const asked = Math.min(max, this.opts.transactionCapacity);
    let n = asked;
    // a take cut by bytes is not short; one that ran out of events is, as without a budget
    let cut = false;
    if (maxBytes < Infinity) {
      const k = this.withinBytes(n, maxBytes);
      cut = k < n && k < this.returned.length + this.queue.length;
      if (cut) n = k;
    }
    let items: Queued[];
    if (this.returned.length > 0) {
      items = this.returned.splice(0, n);
      if (items.length < n) items = items.concat(this.queue.shiftMany(n - items.length));
    } else {
      items = this.queue.shiftMany(n);
    }
    this.inFlight += items.length;
    this.counters.inc('EventTakeAttemptCount', takeAttempts(items.length, cut ? items.length : asked));
    let done = false;
    const finish = () => {
      if (done) throw new Error(`channel ${this.name}: take already committed or rolled back`);
      done = true;
      this.inFlight -= items.length;
    };
    return {
      count: items.length,
      cut,
      events: items.map((q) => q.event),
      commit: async () => {
        finish();
        for (const q of items) this.bytesUsed -= q.bytes;
        this.counters.inc('EventTakeSuccessCount', items.length);
        this.putWaiters.notify();
      },
      rollback: async () => {
        finish();
        if (items.length === 0) return;
        // Back to the head, in put order, even when several takes roll back out of order.
        this.returned = this.returned.concat(items).sort((a, b) => a.seq - b.seq);
        this.takeWaiters.notify();
      },
    };
  }

  /** How many of the next `n` events to take so their bodies pass `maxBytes` with the last one (at least one). */
  private withinBytes(n: number, maxBytes: number): number {
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const q = i < this.returned.length ? this.returned[i] : this.queue.at(i - this.returned.length);
      if (!q) return i;
      bytes += q.event.body.length;
      if (bytes >= maxBytes) return i + 1;
    }
    return n;
  }

  waitForEvents(ms: number): Promise<void> {
    if (this.queue.length + this.returned.length > 0 || !this.open) return Promise.resolve();
    return this.takeWaiters.wait(ms);
  }
}

export const memoryChannelSpec: ChannelSpec<MemoryChannelOptions> = {
  type: 'memory',
  keys: 'capacity, transactionCapacity, byteCapacity, byteCapacityBufferPercentage, keep-alive',
  parse(ctx: ComponentContext): MemoryChannelOptions {
    const capacity = ctx.int('capacity', 100, { min: 1 });
    const transactionCapacity = ctx.int('transactionCapacity', 100, { min: 1 });
    if (transactionCapacity > capacity) {
      ctx.error('transactionCapacity', String(transactionCapacity), `at most capacity (${capacity})`);
    }
    return {
      capacity,
      transactionCapacity,
      // Flume defaults byteCapacity to 80% of the JVM heap; we have no fixed heap, so 0 means
      // "count events only" unless the user sets a byte budget.
      byteCapacity: ctx.int('byteCapacity', 0, { min: 0 }),
      byteCapacityBufferPercentage: ctx.int('byteCapacityBufferPercentage', 20, { min: 0, max: 99 }),
      keepAliveMs: ctx.int('keep-alive', 3, { min: 0 }) * 1000,
    };
  },
  create(opts: MemoryChannelOptions, deps: ChannelDeps): Channel {
    return new MemoryChannel(deps.name, opts, deps.log);
  },
};
