import type { Channel, Taken } from '../channels/channel.ts';
import type { Sink } from '../sinks/sink.ts';
import type { Logger } from './log.ts';
import { backoffDelay, Sleeper } from './backoff.ts';
import { DeliveryError } from './errors.ts';

export interface SinkRunnerOptions {
  batchSize: number;
  /** Take/deliver loops running at once (1 keeps order). */
  concurrency: number;
  /** First failure backoff; doubles per consecutive failure. */
  backoffBaseMs: number;
  /** Cap of the failure backoff (Flume sleeps 5 s after an exception). */
  maxBackoffMs: number;
  /** Longest idle wait on an empty channel before polling again (Flume's BACKOFF cap is 5 s). */
  idleWaitMs: number;
  /** How long stop() lets an in-flight delivery finish before rolling it back. */
  stopGraceMs: number;
}

export const DEFAULT_RUNNER: SinkRunnerOptions = {
  batchSize: 100,
  concurrency: 1,
  backoffBaseMs: 250,
  maxBackoffMs: 5000,
  idleWaitMs: 1000,
  stopGraceMs: 3000,
};

/**
 * Take commits one loop may have outstanding (see `loop`). Each waits for the
 * file channel's next group write (1-2 ms); with 4, a fast sink could drain at
 * most 4 batches per write and fell behind the TAILDIR source (the channel
 * held 14-15k events on average in bench-tail; with 8, 5k, and the run is
 * 15 % shorter; 16 measures as 8).
 */
export const COMMITS_IN_FLIGHT = 8;
/**
 * A loop that has run this long without waiting on I/O or a timer lets the
 * event loop turn once. With a memory channel and a sink that writes
 * synchronously (file_roll, the logger into a file), taking, delivering and
 * committing are all promise callbacks: the loop drained a backlog of
 * millions of lines while signals, the metrics server and timers waited
 * seconds (SIGTERM handled 2.6-5 s late).
 */
const YIELD_AFTER_MS = 20;
/**
 * A take also stops at this many bytes. Batches are counted in events, so a
 * batch of 2000 lines of 60 KB was 120 MB in memory, twice over for a sink
 * that joins it (quick mode's logger printing them peaked at 658 MB); 2000
 * lines of ~180 bytes are ~400 KB, far below it.
 */
export const TAKE_MAX_BYTES = 4 << 20;

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Owns the take → deliver → commit loop of one sink. A delivery that throws
 * rolls the take back (the events return to the head of the channel) and the
 * runner backs off exponentially with jitter, at least as long as the sink's
 * `retryAfterMs` asks. An empty channel is waited on, not polled in a spin.
 */
export class SinkRunner {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly sleepers: Sleeper[] = [];
  private readonly open = new Set<{ taken: Taken; settled: boolean }>();
  private failures = 0;
  /**
   * No loop delivers before this time (epoch ms): a failure's wait holds every loop, not only the one
   * that failed. With 4 loops the others took the batch just rolled back and sent it again at once,
   * 4 requests within 20 ms to a receiver that had said Retry-After.
   */
  private notBefore = 0;

  constructor(
    private readonly sink: Sink,
    private readonly channel: Channel,
    private readonly opts: SinkRunnerOptions,
    private readonly log: Logger,
  ) {
    sink.counters.set('BackoffMs', 0);
    sink.counters.set('ConsecutiveFailures', 0);
    // failed deliveries (and take commits), one per failure whatever the batch's size: what the dashboard shows as a
    // sink's errors, where EventWriteFail counts the events of every failed attempt (50 events failing 4 times: 200)
    sink.counters.set('DeliveryFailCount', 0);
  }

  async start(): Promise<void> {
    await this.sink.start();
    this.sink.counters.startTime = Date.now();
    this.running = true;
    for (let i = 0; i < this.opts.concurrency; i++) {
      const sleeper = new Sleeper();
      this.sleepers.push(sleeper);
      this.loops.push(this.loop(sleeper));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const s of this.sleepers) s.wake();
    const grace = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), this.opts.stopGraceMs).unref?.());
    const outcome = await Promise.race([Promise.all(this.loops).then(() => 'done' as const), grace]);
    if (outcome === 'timeout') {
      // A delivery is stuck (a hung endpoint): give its events back to the channel now.
      for (const t of this.open) {
        if (!t.settled) {
          t.settled = true;
          await t.taken.rollback();
          this.log.warn(`stopped with a delivery of ${t.taken.count} events in flight; rolled back (they will be delivered again)`);
        }
      }
    }
    await this.sink.stop();
    this.sink.counters.stopTime = Date.now();
  }

  /**
   * One take → deliver → commit loop, pipelined so the channel's fsyncs and
   * reads overlap the request instead of adding to it: while a full batch is
   * on the wire the next one is already being taken, and a delivered batch's
   * take commit runs while the next batch is delivered (its events count as
   * drained once that commit is durable). Up to COMMITS_IN_FLIGHT commits are
   * outstanding, so a fast sink is not held to one batch per fsync: their
   * records share the channel's group commits. A crash before a commit only
   * means its batch is delivered again.
   */
  private async loop(sleeper: Sleeper): Promise<void> {
    const c = this.sink.counters;
    let next: Promise<Taken> | undefined;
    const committing: Promise<void>[] = [];
    let turned = performance.now();
    try {
      while (this.running) {
        const hold = this.notBefore - Date.now();
        if (hold > 0) {
          await sleeper.sleep(hold);
          turned = performance.now();
          continue; // stopping, or another failure moved the time on: look again
        }
        if (performance.now() - turned > YIELD_AFTER_MS) {
          await turn();
          turned = performance.now();
          if (!this.running) break;
        }
        let taken: Taken;
        try {
          taken = await (next ?? this.takeBatch());
        } catch (err) {
          c.inc('ChannelReadFail');
          this.log.rateLimited('error', `take:${this.sink.name}`, `take from channel ${this.channel.name} failed: ${(err as Error).message}`);
          await sleeper.sleep(this.opts.maxBackoffMs);
          continue;
        } finally {
          next = undefined;
        }
        const n = taken.count;
        if (n === 0) {
          c.inc('BatchEmptyCount');
          await taken.commit();
          if (committing.length) {
            await Promise.all(committing.splice(0));
            continue; // those commits may have freed room for puts: look again before waiting
          }
          if (this.channel.waitForEvents) await Promise.race([this.channel.waitForEvents(this.opts.idleWaitMs), sleeper.sleep(this.opts.idleWaitMs)]);
          else await sleeper.sleep(Math.min(100, this.opts.idleWaitMs));
          sleeper.wake();
          continue;
        }
        // a take cut at TAKE_MAX_BYTES with events left is as full as it may be
        const full = n === this.opts.batchSize || taken.cut === true;
        c.inc(full ? 'BatchCompleteCount' : 'BatchUnderflowCount');
        c.inc('EventDrainAttemptCount', n);
        const handle = { taken, settled: false };
        this.open.add(handle);
        try {
          // a sink that encodes from the channel's records skips decoding the events
          const delivery = taken.raw && this.sink.deliverRaw
            ? this.sink.deliverRaw(taken.raw, () => taken.events)
            : this.sink.deliver(taken.events);
          // a full batch: more is probably waiting, so read it while this one is on the wire
          if (full && this.running) {
            next = this.takeBatch();
            next.catch(() => undefined);
          }
          const result = await delivery;
          if (!handle.settled) {
            handle.settled = true;
            if (committing.length >= COMMITS_IN_FLIGHT) await committing.shift();
            committing.push(this.commit(taken, n - (result?.rejected ?? 0)));
          }
          if (this.failures > 0) {
            this.log.info(`delivering again after ${this.failures} failed attempts`);
            // the next outage's first warnings are seen, whatever this one's used of the budget
            const name = this.sink.name;
            this.log.renewLimits((key) => key === `deliver:${name}` || key.startsWith(`${name}:`));
          }
          this.failures = 0;
          c.set('BackoffMs', 0);
          c.set('ConsecutiveFailures', 0);
        } catch (err) {
          // the wait is set before the batch goes back, or another loop takes it and sends it again at once
          const delay = this.holdAfter(err);
          if (!handle.settled) {
            handle.settled = true;
            await taken.rollback();
          }
          await this.giveBack(next);
          next = undefined;
          this.reportFailure(n, err, delay);
        } finally {
          this.open.delete(handle);
        }
      }
    } finally {
      await Promise.all(committing);
      await this.giveBack(next);
    }
  }

  /** The next batch: up to batchSize events, and TAKE_MAX_BYTES. */
  private takeBatch(): Promise<Taken> {
    return this.channel.take(this.opts.batchSize, TAKE_MAX_BYTES);
  }

  /** Commits a delivered batch; never throws (a failed commit leaves the take open: it comes back after a restart). */
  private async commit(taken: Taken, drained: number): Promise<void> {
    try {
      await taken.commit();
      // Events a sink's policy dropped or dead-lettered are committed but not counted as drained.
      this.sink.counters.inc('EventDrainSuccessCount', drained);
    } catch (err) {
      this.reportFailure(taken.count, err, this.holdAfter(err), true);
    }
  }

  /** Rolls back a take fetched ahead that will not be delivered now. */
  private async giveBack(next: Promise<Taken> | undefined): Promise<void> {
    const t = next && (await next.catch(() => undefined));
    if (t && t.count) await t.rollback();
    else if (t) await t.commit();
  }

  /** Counts a failure and holds every loop for its wait; returns the wait. */
  private holdAfter(err: unknown): number {
    this.failures++;
    // a sink that names the wait (the HTTP sink: Retry-After, or its own backoff within its maxBackoff) is
    // taken at its word; the runner's own backoff, on top of it, had made maxBackoff = 1000 mean 5 s
    const named = err instanceof DeliveryError ? (err.retryAfterMs ?? 0) : 0;
    const delay = named > 0 ? named : backoffDelay(this.failures, this.opts.backoffBaseMs, this.opts.maxBackoffMs);
    this.notBefore = Math.max(this.notBefore, Date.now() + delay);
    return delay;
  }

  /** Shows a failure (counters, a rate-limited warning); the wait itself is the loops' (notBefore). */
  private reportFailure(n: number, err: unknown, delay: number, commitFailed = false): void {
    const c = this.sink.counters;
    c.inc('DeliveryFailCount');
    c.set('BackoffMs', delay);
    c.set('ConsecutiveFailures', this.failures);
    // the log line names the sink already
    const why = err instanceof DeliveryError ? err.detail : (err as Error).message;
    this.log.rateLimited('warn', `deliver:${this.sink.name}`, commitFailed
      ? `the take commit of ${n} delivered events failed (attempt ${this.failures}; they come back after a restart), retrying in ${delay} ms: ${why}`
      : `delivery of ${n} events failed (attempt ${this.failures}), rolled back, retrying in ${delay} ms: ${why}`);
  }
}
