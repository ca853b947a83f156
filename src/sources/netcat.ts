import { createServer, type Server, type Socket } from 'node:net';
import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';
import { backoffDelay, Sleeper } from '../core/backoff.ts';
import { CounterGroup, SOURCE_COUNTERS } from '../metrics/counters.ts';
import type { Source, SourceDeps, SourceSpec } from './source.ts';

export interface NetcatSourceOptions {
  bind: string;
  port: number;
  maxLineLength: number;
  ackEveryEvent: boolean;
}

const OK = Buffer.from('OK\n');
const NL = 0x0a;
const utf8 = new TextDecoder('utf-8');

/**
 * Flume's netcat source: one event per `\n`-terminated line (a trailing `\r`
 * stays in the body, as in Flume), `OK` per line once the channel committed
 * it, Flume's FAILED reply and a closed connection for a line longer than
 * `max-line-length` characters (newline included).
 *
 * Lines that arrive together are put in one batch (one transaction, one fsync
 * on a file channel) instead of Flume's one transaction per line. When the
 * channel is full, the connection stops being read (TCP pushes back on the
 * client) and the put is retried with backoff until it succeeds; no line is
 * answered FAILED and dropped as Flume would.
 */
export class NetcatSource implements Source {
  readonly counters: CounterGroup;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly sleeper = new Sleeper();
  /** reads waiting for a client to take its replies (see putAndAck), let go at stop */
  private readonly replyWaits = new Set<() => void>();
  private stopping = false;
  /** The port actually bound (useful with port 0). */
  port = 0;

  constructor(readonly name: string, private readonly opts: NetcatSourceOptions, private readonly deps: SourceDeps) {
    this.counters = new CounterGroup('SOURCE', name, 'netcat', SOURCE_COUNTERS);
  }

  async start(): Promise<void> {
    const server = createServer({ allowHalfOpen: true }, (s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.opts.bind, port: this.opts.port }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`netcat source ${this.name} cannot listen on ${this.opts.bind}:${this.opts.port}: ${err.code ?? err.message}`);
    });
    server.on('error', (err) => this.deps.log.error(`server error: ${err.message}`));
    this.server = server;
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : this.opts.port;
    this.counters.startTime = Date.now();
    this.deps.log.info(`listening on ${this.opts.bind}:${this.port}`);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.sleeper.wake();
    for (const go of [...this.replyWaits]) go();
    const closed = new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    for (const s of this.sockets) s.pause();
    await Promise.allSettled([...this.inflight]);
    for (const s of this.sockets) s.destroy();
    await closed;
    this.counters.stopTime = Date.now();
  }

  private accept(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    this.counters.inc('OpenConnectionCount');
    // the line being received, in the pieces it came in: joined once, when its newline comes (joining at every
    // chunk made a 100 MB line cost time quadratic in its length)
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    // its length in characters, counted piece by piece once it has max-line-length bytes (a character is at
    // least one byte, so before that it cannot be too long); a streaming decoder holds a character split between
    // two pieces
    let counter: InstanceType<typeof TextDecoder> | undefined;
    let pendingChars = 0;
    const takePending = (tail?: Buffer): Buffer => {
      const parts = tail ? [...pending, tail] : pending;
      const line = parts.length === 1 ? parts[0] : Buffer.concat(parts, pendingBytes + (tail?.length ?? 0));
      pending = [];
      pendingBytes = 0;
      counter = undefined;
      pendingChars = 0;
      return line;
    };
    let ended = false;
    let busy = false;
    const queue: Buffer[] = [];

    const drain = async () => {
      if (busy) return;
      busy = true;
      try {
        while (queue.length > 0 && !this.stopping) {
          const chunk = queue.shift()!;
          const lines: Buffer[] = [];
          let start = 0;
          let nl: number;
          while ((nl = chunk.indexOf(NL, start)) !== -1) {
            const line = pendingBytes > 0 ? takePending(chunk.subarray(start, nl)) : chunk.subarray(start, nl);
            if (this.tooLong(line, true)) {
              await this.putAndAck(socket, lines);
              this.reject(socket);
              return;
            }
            lines.push(line);
            start = nl + 1;
          }
          if (start < chunk.length) {
            // a copy: a view would keep the socket's whole read buffer alive for a few bytes, per idle connection
            const piece = Buffer.from(chunk.subarray(start));
            pending.push(piece);
            pendingBytes += piece.length;
            if (pendingBytes >= this.opts.maxLineLength) {
              if (!counter) {
                counter = new TextDecoder('utf-8');
                for (const p of pending) pendingChars += counter.decode(p, { stream: true }).length;
              } else {
                pendingChars += counter.decode(piece, { stream: true }).length;
              }
              // as tooLong counts an unterminated line: max-line-length characters without a newline are too many
              if (pendingChars >= this.opts.maxLineLength) {
                await this.putAndAck(socket, lines);
                this.reject(socket);
                return;
              }
            }
          }
          await this.putAndAck(socket, lines);
        }
        if (!ended && !this.stopping && !socket.destroyed) socket.resume();
        if (ended && queue.length === 0) {
          // Flume discards an unterminated last line at EOF; we deliver it, since the client sent it.
          if (pendingBytes > 0) await this.putAndAck(socket, [takePending()]);
          socket.end();
        }
      } finally {
        busy = false;
      }
    };

    const run = () => {
      const p = drain().catch((err) => {
        this.counters.inc('GenericProcessingFail');
        this.deps.log.error(`connection from ${socket.remoteAddress}: ${(err as Error).message}`);
        socket.destroy();
      });
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    };

    socket.on('data', (chunk: Buffer) => {
      queue.push(chunk);
      // Reading pauses while lines are being committed: TCP back-pressure instead of unbounded buffering.
      socket.pause();
      run();
    });
    socket.on('end', () => {
      ended = true;
      run();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.counters.inc('OpenConnectionCount', -1);
    });
  }

  /** Flume counts UTF-16 chars including the newline; bytes ≥ chars, so decode only when bytes exceed the limit. */
  private tooLong(line: Buffer, withNewline: boolean): boolean {
    const extra = withNewline ? 1 : 0;
    const max = this.opts.maxLineLength;
    if (line.length + extra <= max && (withNewline || line.length < max)) return false;
    const chars = utf8.decode(line).length + extra;
    return withNewline ? chars > max : chars >= max;
  }

  private reject(socket: Socket): void {
    this.counters.inc('EventReadFail');
    socket.end(`FAILED: Event exceeds the maximum length (${this.opts.maxLineLength} chars, including newline)\n`);
  }

  /** Resolves once the socket's queued replies drained, or it closed, or the source stops. */
  private repliesTaken(socket: Socket): Promise<void> {
    if (this.stopping || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const go = (): void => {
        socket.off('drain', go);
        socket.off('close', go);
        this.replyWaits.delete(go);
        resolve();
      };
      socket.on('drain', go);
      socket.on('close', go);
      this.replyWaits.add(go);
    });
  }

  private async putAndAck(socket: Socket, lines: Buffer[]): Promise<void> {
    if (lines.length === 0) return;
    const max = this.deps.processor.maxBatch;
    for (let i = 0; i < lines.length; i += max) {
      const part = lines.slice(i, i + max);
      const events: FlumeEvent[] = part.map((l) => ({ headers: {}, body: Buffer.from(l) }));
      this.counters.inc('EventReceivedCount', events.length);
      this.counters.inc('AppendBatchReceivedCount');
      let attempt = 0;
      for (;;) {
        try {
          await this.deps.processor.process(events);
          break;
        } catch (err) {
          this.counters.inc('ChannelWriteFail');
          if (this.stopping) throw new Error(`stopping; ${events.length} unacknowledged lines not put`);
          attempt++;
          const delay = backoffDelay(attempt, 100, 5000);
          // the channel's own words: "channel c1 is full: only 310 MB free in …" says what to do, "channel full" did not
          this.deps.log.rateLimited('warn', `netcat-put:${this.name}`, `${(err as Error).message}; holding ${events.length} lines and retrying in ${delay} ms`);
          await this.sleeper.sleep(delay);
        }
      }
      this.counters.inc('EventAcceptedCount', events.length);
      this.counters.inc('AppendBatchAcceptedCount');
      if (this.opts.ackEveryEvent && !socket.destroyed) {
        // A client that sends without reading its replies would have them pile up here without bound: its
        // lines are not read on (reading is paused while a chunk is handled) until the replies drain.
        if (!socket.write(part.length === 1 ? OK : Buffer.alloc(OK.length * part.length, OK))) await this.repliesTaken(socket);
      }
    }
  }
}

export const netcatSourceSpec: SourceSpec<NetcatSourceOptions> = {
  type: 'netcat',
  keys: 'bind, port, max-line-length, ack-every-event, encoding',
  parse(ctx: ComponentContext): NetcatSourceOptions {
    const enc = ctx.string('encoding', 'utf-8');
    if (!/^utf-?8$/i.test(enc)) ctx.error('encoding', `"${enc}"`, 'utf-8 (bodies are kept as the bytes received)');
    if (!ctx.has('port')) ctx.requiredString('port', 'a TCP port from 0 to 65535');
    return {
      bind: ctx.requiredString('bind', 'an address to listen on, e.g. localhost or 0.0.0.0'),
      port: ctx.int('port', 0, { min: 0, max: 65535 }),
      maxLineLength: ctx.int('max-line-length', 512, { min: 2 }),
      ackEveryEvent: ctx.bool('ack-every-event', true),
    };
  },
  create(opts, deps) {
    return new NetcatSource(deps.name, opts, deps);
  },
};
