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

  constructor(
    private readonly sink: Sink,
    private readonly channel: Channel,
    private readonly opts: SinkRunnerOptions,
    private readonly log: Logger,
  ) {
    sink.counters.set('BackoffMs', 0);
    sink.counters.set('ConsecutiveFailures', 0);
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
          this.log.warn(`stopped with a delivery of ${t.taken.events.length} events in flight; rolled back (they will be delivered again)`);
        }
      }
    }
    await this.sink.stop();
    this.sink.counters.stopTime = Date.now();
  }

  private async loop(sleeper: Sleeper): Promise<void> {
    const c = this.sink.counters;
    while (this.running) {
      let taken: Taken;
      try {
        taken = await this.channel.take(this.opts.batchSize);
      } catch (err) {
        c.inc('ChannelReadFail');
        this.log.rateLimited('error', `take:${this.sink.name}`, `take from channel ${this.channel.name} failed: ${(err as Error).message}`);
        await sleeper.sleep(this.opts.maxBackoffMs);
        continue;
      }
      const n = taken.events.length;
      if (n === 0) {
        c.inc('BatchEmptyCount');
        await taken.commit();
        if (this.channel.waitForEvents) await Promise.race([this.channel.waitForEvents(this.opts.idleWaitMs), sleeper.sleep(this.opts.idleWaitMs)]);
        else await sleeper.sleep(Math.min(100, this.opts.idleWaitMs));
        sleeper.wake();
        continue;
      }
      c.inc(n === this.opts.batchSize ? 'BatchCompleteCount' : 'BatchUnderflowCount');
      c.inc('EventDrainAttemptCount', n);
      const handle = { taken, settled: false };
      this.open.add(handle);
      try {
        const result = await this.sink.deliver(taken.events);
        if (!handle.settled) {
          handle.settled = true;
          await taken.commit();
          // Events a sink's policy dropped or dead-lettered are committed but not counted as drained.
          c.inc('EventDrainSuccessCount', n - (result?.rejected ?? 0));
        }
        if (this.failures > 0) this.log.info(`delivering again after ${this.failures} failed attempts`);
        this.failures = 0;
        c.set('BackoffMs', 0);
        c.set('ConsecutiveFailures', 0);
      } catch (err) {
        if (!handle.settled) {
          handle.settled = true;
          await taken.rollback();
        }
        this.failures++;
        const retryAfter = err instanceof DeliveryError ? (err.retryAfterMs ?? 0) : 0;
        const delay = Math.max(retryAfter, backoffDelay(this.failures, this.opts.backoffBaseMs, this.opts.maxBackoffMs));
        c.set('BackoffMs', delay);
        c.set('ConsecutiveFailures', this.failures);
        this.log.rateLimited('warn', `deliver:${this.sink.name}`, `delivery of ${n} events failed (attempt ${this.failures}), rolled back, retrying in ${delay} ms: ${(err as Error).message}`);
        if (this.running) await sleeper.sleep(delay);
      } finally {
        this.open.delete(handle);
      }
    }
  }
}
