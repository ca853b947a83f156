import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';
import type { Lifecycle } from '../core/lifecycle.ts';
import type { Logger } from '../core/log.ts';
import type { CounterGroup } from '../metrics/counters.ts';
import type { EntryRun } from '../channels/file/framing.ts';

/**
 * A sink delivers one batch at a time. `deliver` resolves once the batch is
 * accepted downstream (the runner then commits the take) and throws when it
 * is not (the runner rolls back and backs off; a `DeliveryError` may carry
 * `retryAfterMs`).
 */
export interface Sink extends Lifecycle {
  readonly name: string;
  readonly counters: CounterGroup;
  /** Resolves when the batch may be committed; `rejected` counts events the sink's policy dropped or dead-lettered instead of delivering. */
  deliver(events: FlumeEvent[]): Promise<void | DeliveryResult>;
  /**
   * Optional: delivers a take of the file channel from its records as they lie
   * (`Taken.raw`), with the same outcome as `deliver(events())`; `events`
   * decodes them, for the cases a sink still needs event objects.
   */
  deliverRaw?(raw: readonly EntryRun[], events: () => FlumeEvent[]): Promise<void | DeliveryResult>;
}

export interface DeliveryResult {
  rejected: number;
}

export interface SinkDeps {
  name: string;
  log: Logger;
  /** Where the logger sink prints events (stdout unless the dashboard redirects it). */
  out: { write(text: string): void };
  /** The sink's channel hands out takes as records (`Channel.rawTakes`). */
  rawTakes?: boolean;
}

export interface SinkSpec<O extends { batchSize: number } = { batchSize: number }> {
  readonly type: string;
  readonly aliases?: readonly string[];
  readonly keys: string;
  parse(ctx: ComponentContext): O;
  create(opts: O, deps: SinkDeps): Sink;
}
