/**
 * One POST over keep-alive connections, with a connect timeout and a request
 * timeout, on Node, Bun and Deno.
 *
 * Why `node:http`/`node:https` and not the global `fetch`: on all three
 * runtimes it takes `ca` and `rejectUnauthorized` directly (Node's fetch needs
 * an undici dispatcher we do not ship; Bun and Deno each have their own
 * non-standard TLS options), it separates the connect timeout from the
 * request timeout, it lets us count connections the way Flume's sink counters
 * do, and on Node it measured faster than fetch for this workload
 * (BENCHMARKS.md, HTTP sink).
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { CounterGroup } from '../../metrics/counters.ts';
import { FlumeError } from '../../core/errors.ts';

/**
 * Connections are kept and reused, except under Deno. On a kept connection
 * Deno's node:http client (2.9.6) now and then never surfaced a response the
 * receiver had sent: the request timed out and its batch was delivered again
 * (a 320-file tailing run with 640 lines appended: 1 run in 3 to 8 delivered a
 * batch two or three times, also with the receiver keeping idle connections
 * for 60 s, so not a connection it had closed; with a connection per request,
 * 0 in 15). Bun and Node keep their connections (0 in 12 under Bun).
 */
const KEEP_ALIVE = !('Deno' in globalThis);

export interface HttpClientOptions {
  endpoint: URL;
  connectTimeoutMs: number;
  /** From the request being written to the whole response read. */
  requestTimeoutMs: number;
  /** Sockets kept per origin; at least the sink's concurrency. */
  maxSockets: number;
  ca?: string | Buffer;
  insecure: boolean;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The first bytes of the response body, for error messages. */
  snippet: string;
}

/**
 * A network-level failure (no status): refused, reset, DNS, TLS, timeouts.
 * Stays inside the sink, which turns it into a retry or a DeliveryError.
 */
export class TransportError extends FlumeError {
  constructor(
    readonly kind: 'connect' | 'connect-timeout' | 'request-timeout' | 'network',
    message: string,
    options?: { cause?: unknown },
  ) {
    super('HTTP_TRANSPORT', message, options);
  }
}

const SNIPPET_BYTES = 512;

interface InFlight {
  /** performance.now() by which the response must be complete; Infinity while connecting. */
  deadline: number;
  fail: (err: TransportError) => void;
}

export class HttpClient {
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly seen = new WeakSet<Socket>();
  private readonly inflight = new Set<InFlight>();
  private sweeper?: NodeJS.Timeout;
  private readonly tls: boolean;
  /** Request options computed once: host, port, path, method, agent. */
  private readonly target: http.RequestOptions;

  constructor(private readonly opts: HttpClientOptions, private readonly counters: CounterGroup) {
    const tls = opts.endpoint.protocol === 'https:';
    this.tls = tls;
    this.mod = tls ? https : http;
    const common = { keepAlive: KEEP_ALIVE, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets, scheduling: 'fifo' as const };
    this.agent = tls
      ? new https.Agent({ ...common, ...(opts.ca !== undefined ? { ca: opts.ca } : {}), rejectUnauthorized: !opts.insecure })
      : new http.Agent(common);
    const u = opts.endpoint;
    this.target = {
      protocol: u.protocol,
      hostname: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
      port: u.port || (tls ? 443 : 80),
      path: u.pathname + u.search,
      method: 'POST',
      agent: this.agent,
      ...(u.username || u.password ? { auth: `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` } : {}),
    };
  }

  /**
   * POSTs `body`; resolves with the status once the whole response is read
   * (so the connection can be reused), or rejects with a TransportError.
   */
  post(body: Buffer, headers: Record<string, string>): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      let connectTimer: NodeJS.Timeout | undefined;
      let connected = false;
      const finish = (err: Error | undefined, res?: HttpResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        this.inflight.delete(entry);
        if (err) reject(err);
        else resolve(res!);
      };
      headers['content-length'] = String(body.byteLength);
      const req = this.mod.request({ ...this.target, headers });
      const fail = (err: TransportError): void => {
        finish(err);
        req.destroy();
      };
      // deadlines are checked by one sweeper per client, not a timer per request (measured cheaper)
      const entry: InFlight = { deadline: Infinity, fail };
      this.inflight.add(entry);
      const startRequestTimer = (): void => {
        connected = true;
        entry.deadline = performance.now() + this.opts.requestTimeoutMs;
        this.sweep();
      };

      req.on('socket', (socket: Socket) => {
        if (socket.connecting) {
          connectTimer = setTimeout(
            () => fail(new TransportError('connect-timeout', `no connection within connectTimeout ${this.opts.connectTimeoutMs} ms`)),
            this.opts.connectTimeoutMs,
          );
          socket.once(this.tls ? 'secureConnect' : 'connect', () => {
            clearTimeout(connectTimer);
            this.track(socket);
            startRequestTimer();
          });
        } else {
          this.track(socket);
          startRequestTimer();
        }
      });

      req.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        const connecting = !connected;
        if (connecting) this.counters.inc('ConnectionFailedCount');
        finish(new TransportError(connecting ? 'connect' : 'network', describe(err), { cause: err }));
      });

      req.on('response', (res: http.IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const kept: Buffer[] = [];
        let keptBytes = 0;
        if (status >= 200 && status < 300) {
          res.resume(); // a success body is not needed; reading it frees the connection
        } else {
          res.on('data', (chunk: Buffer) => {
            if (keptBytes < SNIPPET_BYTES) {
              kept.push(chunk);
              keptBytes += chunk.byteLength;
            }
          });
        }
        res.on('end', () => {
          const snippet = keptBytes > 0 ? Buffer.concat(kept).subarray(0, SNIPPET_BYTES).toString('utf8') : '';
          finish(undefined, { status, headers: res.headers, snippet });
        });
        res.on('error', (err: Error) => finish(new TransportError('network', `response: ${describe(err)}`, { cause: err })));
        res.on('aborted', () => finish(new TransportError('network', 'response aborted by the server')));
      });

      req.end(body);
    });
  }

  /**
   * Fails requests past their deadline. Runs every requestTimeout/10 (10 ms to
   * 250 ms) while requests are in flight, so a timeout fires at most a tenth
   * late; stops itself when nothing is in flight.
   */
  private sweep(): void {
    if (this.sweeper) return;
    const every = Math.min(250, Math.max(10, Math.floor(this.opts.requestTimeoutMs / 10)));
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const r of [...this.inflight]) {
        if (r.deadline <= now) r.fail(new TransportError('request-timeout', `no complete response within requestTimeout ${this.opts.requestTimeoutMs} ms`));
      }
      if (this.inflight.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, every);
    this.sweeper.unref?.();
  }

  /** Counts a connection once, when it is first used (a refused connect counts as failed, not created). */
  private track(socket: Socket): void {
    if (this.seen.has(socket)) return;
    this.seen.add(socket);
    this.counters.inc('ConnectionCreatedCount');
    socket.once('close', () => this.counters.inc('ConnectionClosedCount'));
  }

  /** Aborts requests in flight (they reject) and closes every connection. */
  close(): void {
    for (const r of [...this.inflight]) r.fail(new TransportError('network', 'aborted: the sink is stopping'));
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.agent.destroy();
  }
}

function describe(err: NodeJS.ErrnoException): string {
  return err.code ? `${err.code}: ${err.message}` : err.message;
}
