import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';
import { CounterGroup, SINK_COUNTERS } from '../metrics/counters.ts';
import type { Sink, SinkDeps, SinkSpec } from './sink.ts';
import { flumeEventLine } from './hexdump.ts';

const NL = Buffer.from('\n');

export interface LoggerSinkOptions {
  batchSize: number;
  maxBytesToLog: number;
  /** `flume`: Flume's `Event: { headers:… body: <hex dump> }`; `text`: the body as a line (quick mode's choice). */
  format: 'flume' | 'text';
}

/**
 * Flume's logger sink: one line per event in Flume's shape, on stdout (or the
 * dashboard's pane in --tui mode). A batch is written with one write call.
 */
export class LoggerSink implements Sink {
  readonly counters: CounterGroup;
  constructor(readonly name: string, private readonly opts: LoggerSinkOptions, private readonly out: SinkDeps['out']) {
    this.counters = new CounterGroup('SINK', name, 'logger', SINK_COUNTERS);
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async deliver(events: FlumeEvent[]): Promise<void> {
    if (this.opts.format === 'text') {
      const parts: Uint8Array[] = [];
      for (const e of events) parts.push(e.body, NL);
      this.out.write(Buffer.concat(parts).toString('utf8'));
      return;
    }
    let text = '';
    for (const e of events) text += flumeEventLine(e.headers, e.body, this.opts.maxBytesToLog) + '\n';
    this.out.write(text);
  }
}

export const loggerSinkSpec: SinkSpec<LoggerSinkOptions> = {
  type: 'logger',
  keys: 'batchSize, maxBytesToLog, format',
  parse(ctx: ComponentContext): LoggerSinkOptions {
    // Flume falls back to 16 with a warning on an unparsable maxBytesToLog; we report it.
    return {
      batchSize: ctx.int('batchSize', 100, { min: 1 }),
      maxBytesToLog: ctx.int('maxBytesToLog', 16, { min: 0 }),
      format: ctx.oneOf('format', 'flume', ['flume', 'text'] as const),
    };
  },
  create(opts, deps) {
    return new LoggerSink(deps.name, opts, deps.out);
  },
};
