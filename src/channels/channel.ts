import type { FlumeEvent } from '../core/event.ts';
import type { LineBatch } from '../core/line-batch.ts';
import type { Lifecycle } from '../core/lifecycle.ts';
import type { CounterGroup } from '../metrics/counters.ts';
import type { EntryRun } from './file/framing.ts';

/**
 * A channel holds events between sources and sinks.
 *
 * - `put` is atomic: all events of the batch are stored (durably, for the file
 *   channel) when it resolves, or none are and it throws (`ChannelFullError`
 *   when there is no room; the source backs off and retries).
 * - `take` hands out up to `max` events in a transaction. `commit` removes them
 *   for good; `rollback` returns them to the head of the channel, in order.
 *   A take on an empty channel resolves at once with no events.
 */
export interface Channel extends Lifecycle {
  readonly name: string;
  put(events: FlumeEvent[]): Promise<void>;
  /**
   * Puts a source's line batch as `put(lines.events())` would, with the same
   * atomicity, without making the events: a channel that stores bytes copies
   * the lines straight from the read buffers. Optional; the channel processor
   * hands `events()` to a channel without it.
   */
  putLines?(lines: LineBatch): Promise<void>;
  /**
   * Up to `max` events, and no more once they pass `maxBytes` (their bodies;
   * for the file channel, its entries with their headers); the one that
   * passes it is the last. So a take of long lines stays a few MiB, not `max`
   * times the longest line.
   */
  take(max: number, maxBytes?: number): Promise<Taken>;
  /** Events stored and not yet committed as taken (includes events in open takes). */
  readonly size: number;
  readonly capacity: number;
  readonly transactionCapacity: number;
  readonly counters: CounterGroup;
  /** Resolves when the channel may have new events (or after `ms`), so runners do not spin. */
  waitForEvents?(ms: number): Promise<void>;
  /** Its takes carry their records (`Taken.raw`): a sink that encodes from them may get ready for that when it starts. */
  readonly rawTakes?: boolean;
}

export interface Taken {
  /** How many events the take holds (without decoding them). */
  readonly count: number;
  /** The events; a channel that stores bytes may decode them only when this is first read. */
  readonly events: FlumeEvent[];
  /**
   * The file channel's entries as they lie in its records, for a sink that
   * encodes straight from bytes (`Sink.deliverRaw`) and never needs `events`.
   */
  readonly raw?: readonly EntryRun[];
  /** It stopped at `maxBytes` with events left, not for want of them: more are probably waiting. */
  readonly cut?: boolean;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export interface ChannelDeps {
  name: string;
  log: import('../core/log.ts').Logger;
  /** The agent's state dir, under which channels without explicit dirs keep their data. */
  stateDir: string;
  /** The channel lost its storage for good (its dirs removed while running): the agent must stop, not carry on. */
  onFatal?(err: Error): void;
}

export interface ChannelSpec<O extends { transactionCapacity: number } = { transactionCapacity: number }> {
  readonly type: string;
  readonly aliases?: readonly string[];
  /** Human list of the keys this type knows, for the unknown-key warning. */
  readonly keys: string;
  parse(ctx: import('../config/context.ts').ComponentContext): O;
  create(opts: O, deps: ChannelDeps): Channel;
}
