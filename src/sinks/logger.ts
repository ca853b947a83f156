import type { ComponentContext } from '../config/context.ts';
import { DeliveryError } from '../core/errors.ts';
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

/** A Node writable stream (stdout): its write reports the outcome through a callback, and a failure also as an 'error' event. */
interface WritableOut {
  write(data: string | Uint8Array, cb: (err?: Error | null) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
}

function isWritableStream(out: SinkDeps['out']): out is SinkDeps['out'] & WritableOut {
  const o = out as Partial<WritableOut> & { writable?: unknown };
  return typeof o.on === 'function' && typeof o.off === 'function' && typeof o.writable === 'boolean';
}

/** The error's code (`EPIPE`, `ENOSPC`, …) when it has one. */
function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Flume's logger sink: one line per event in Flume's shape, on stdout (or the
 * dashboard's pane in --tui mode). A batch is written with one write call, and
 * is delivered only once that write succeeded: on stdout, once the OS took the
 * bytes (the write's callback). A failed write (EPIPE: the reader of a pipe is
 * gone; ENOSPC: stdout is a file on a full disk; …) fails the delivery, so the
 * runner rolls the batch back into the channel and retries it. Whether a
 * closed stdout stops the agent is for the command that owns stdout to decide
 * (`run-agent.ts` does, on EPIPE); the sink only never loses the batch.
 */
export class LoggerSink implements Sink {
  readonly counters: CounterGroup;
  /** The stream's failures are reported through the write callbacks; this keeps its 'error' event from being unhandled (a crash). */
  private readonly ignoreErrorEvent = (): void => {};
  constructor(readonly name: string, private readonly opts: LoggerSinkOptions, private readonly out: SinkDeps['out']) {
    this.counters = new CounterGroup('SINK', name, 'logger', SINK_COUNTERS);
  }
  async start(): Promise<void> {
    if (isWritableStream(this.out)) this.out.on('error', this.ignoreErrorEvent);
  }
  async stop(): Promise<void> {
    if (isWritableStream(this.out)) this.out.off('error', this.ignoreErrorEvent);
  }
  async deliver(events: FlumeEvent[]): Promise<void> {
    if (this.opts.format === 'text') {
      const parts: Uint8Array[] = [];
      for (const e of events) parts.push(e.body, NL);
      // the bytes as they were read: bytes that are not UTF-8 pass through (decoded, each became U+FFFD)
      return this.write(Buffer.concat(parts), events.length);
    }
    let text = '';
    for (const e of events) text += flumeEventLine(e.headers, e.body, this.opts.maxBytesToLog) + '\n';
    return this.write(text, events.length);
  }

  /** Resolves once `data` is written; rejects with a DeliveryError when it is not. An `out` that is not a stream (the dashboard's pane) gets text. */
  private write(data: string | Buffer, n: number): Promise<void> {
    const out = this.out;
    const failed = (err: unknown): DeliveryError => {
      const why = codeOf(err) === 'EPIPE' ? 'stdout is closed (EPIPE: its reader is gone)' : (err as Error).message;
      return new DeliveryError(this.name, `could not print ${n} events: ${why}`, { cause: err });
    };
    if (!isWritableStream(out)) {
      try {
        out.write(typeof data === 'string' ? data : data.toString('utf8'));
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(failed(err));
      }
    }
    return new Promise<void>((resolve, reject) => {
      try {
        out.write(data, (err) => (err ? reject(failed(err)) : resolve()));
      } catch (err) {
        reject(failed(err));
      }
    });
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
