import type { ComponentContext } from '../config/context.ts';
import type { Lifecycle } from '../core/lifecycle.ts';
import type { Logger } from '../core/log.ts';
import type { ChannelProcessor } from '../core/channel-processor.ts';
import type { CounterGroup } from '../metrics/counters.ts';

/** A source reads events and pushes batches through its ChannelProcessor. */
export interface Source extends Lifecycle {
  readonly name: string;
  readonly counters: CounterGroup;
}

export interface SourceDeps {
  name: string;
  processor: ChannelProcessor;
  log: Logger;
  /** The agent's state dir (`~/.flume-tail` or `--data-dir`), for default positions. */
  stateDir: string;
  /** Directories and files the agent's components write (WritesFiles), known once all are built: a source that reads files never reads these. */
  agentWrites?: () => readonly string[];
}

/**
 * How a source type is configured and built. `parse` reads the component's own
 * keys (recording problems in the context, never throwing); `create` builds it.
 * `batchSize`, when the source has one, is checked against its channels'
 * transactionCapacity by the config layer.
 */
export interface SourceSpec<O extends object = object> {
  readonly type: string;
  readonly aliases?: readonly string[];
  readonly keys: string;
  parse(ctx: ComponentContext): O;
  create(opts: O, deps: SourceDeps): Source;
}
