import type { Channel } from '../channels/channel.ts';
import type { FlumeEvent } from './event.ts';
import { LineBatch, type SourceBatch } from './line-batch.ts';
import type { Interceptor } from '../interceptors/interceptor.ts';
import type { ChannelSelector } from '../selectors/selector.ts';
import type { Logger } from './log.ts';

/** One put of the batch (or its share of it) into one channel. */
interface ChannelPut {
  ch: Channel;
  n: number;
  put: () => Promise<void>;
}

/**
 * Sits between a source and its channels: runs the interceptor chain, asks the
 * selector where each event goes, and puts into every required channel.
 *
 * Like Flume, a batch that goes to several required channels is put into each
 * in its own transaction, in order; if a later channel fails, the source
 * retries the whole batch and the channels that already took it get it twice
 * (at-least-once; the duplicates are counted in `duplicatedPuts`). Failures of
 * optional channels are logged and ignored.
 */
export class ChannelProcessor {
  /** Events put into a channel by an attempt that failed later on another channel. */
  duplicatedPuts = 0;

  constructor(
    private readonly interceptors: readonly Interceptor[],
    readonly selector: ChannelSelector,
    private readonly log: Logger,
  ) {}

  /** Resolves when every required channel committed the batch; throws (e.g. ChannelFullError) otherwise. */
  async process(batch: SourceBatch): Promise<void> {
    if (batch instanceof LineBatch) {
      // interceptors work on events; without them the lines go as they are to the channels that take lines
      if (this.interceptors.length > 0) return this.process(batch.events());
      if (batch.count === 0) return;
      const { required, optional } = this.selector.routeShared(batch.sample(), batch.count);
      const put = (ch: Channel): ChannelPut => ({ ch, n: batch.count, put: () => (ch.putLines ? ch.putLines(batch) : ch.put(batch.events())) });
      return this.putAll(required.map(put), optional.map(put));
    }
    let events = batch;
    for (const i of this.interceptors) {
      events = i.intercept(events);
      if (events.length === 0) return;
    }
    const { required, optional } = this.selector.route(events);
    // a channel may be required for some events of the batch and optional for others: two lists
    return this.putAll(
      [...required].map(([ch, list]) => ({ ch, n: list.length, put: () => ch.put(list) })),
      [...optional].map(([ch, list]) => ({ ch, n: list.length, put: () => ch.put(list) })),
    );
  }

  private async putAll(required: readonly ChannelPut[], optional: readonly ChannelPut[]): Promise<void> {
    let done = 0;
    try {
      for (const p of required) {
        await p.put();
        done += p.n;
      }
    } catch (err) {
      this.duplicatedPuts += done;
      throw err;
    }
    for (const p of optional) {
      try {
        await p.put();
      } catch (err) {
        this.log.rateLimited('warn', `optional:${p.ch.name}`, `optional channel ${p.ch.name} did not take ${p.n} events: ${(err as Error).message}`);
      }
    }
  }

  /**
   * A line batch would reach every channel as it is (no interceptor, and every
   * channel takes lines). Otherwise each would be made into events anyway, and
   * a source does better to make them as it reads.
   */
  get takesLines(): boolean {
    return this.interceptors.length === 0 && this.selector.channels.every((c) => c.putLines !== undefined);
  }

  /** Largest batch the source may hand over in one `process` call. */
  get maxBatch(): number {
    return Math.min(...this.selector.channels.map((c) => c.transactionCapacity));
  }
}
