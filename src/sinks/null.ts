import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';
import { entryBodyBytes, type EntryRun } from '../channels/file/framing.ts';
import { CounterGroup, SINK_COUNTERS } from '../metrics/counters.ts';
import type { Sink, SinkSpec } from './sink.ts';

export interface NullSinkOptions {
  batchSize: number;
}

/** Flume's null sink: takes batches and discards them (for benchmarks and draining). */
export class NullSink implements Sink {
  readonly counters: CounterGroup;
  constructor(readonly name: string) {
    this.counters = new CounterGroup('SINK', name, 'null', SINK_COUNTERS);
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async deliver(events: FlumeEvent[]): Promise<void> {
    let bytes = 0;
    for (const e of events) bytes += e.body.byteLength;
    this.counters.inc('BytesDiscarded', bytes);
  }

  /** A file channel's take, discarded without decoding it (the body bytes are still counted). */
  async deliverRaw(runs: readonly EntryRun[]): Promise<void> {
    let bytes = 0;
    for (const r of runs) bytes += entryBodyBytes(r);
    this.counters.inc('BytesDiscarded', bytes);
  }
}

export const nullSinkSpec: SinkSpec<NullSinkOptions> = {
  type: 'null',
  keys: 'batchSize',
  parse(ctx: ComponentContext): NullSinkOptions {
    return { batchSize: ctx.int('batchSize', 100, { min: 1 }) };
  },
  create(_opts, deps) {
    return new NullSink(deps.name);
  },
};
