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
 * (BENCHMARKS-http.md).
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { CounterGroup } from '../../metrics/counters.ts';

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

/** A network-level failure (no status): refused, reset, DNS, TLS, timeouts. */
export class TransportError extends Error {
  constructor(
    readonly kind: 'connect' | 'connect-timeout' | 'request-timeout' | 'network',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

const SNIPPET_BYTES = 512;

export class HttpClient {
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly seen = new WeakSet<Socket>();

  constructor(private readonly opts: HttpClientOptions, private readonly counters: CounterGroup) {
    const tls = opts.endpoint.protocol === 'https:';
    this.mod = tls ? https : http;
    const common = { keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets, scheduling: 'fifo' as const };
    this.agent = tls
      ? new https.Agent({ ...common, ...(opts.ca !== undefined ? { ca: opts.ca } : {}), rejectUnauthorized: !opts.insecure })
      : new http.Agent(common);
  }

  post(body: Buffer, headers: Record<string, string>, signal?: AbortSignal): Promise<HttpResponse> {
    const { endpoint } = this.opts;
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      let connectTimer: NodeJS.Timeout | undefined;
      let requestTimer: NodeJS.Timeout | undefined;
      const finish = (err: Error | undefined, res?: HttpResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        clearTimeout(requestTimer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res!);
      };
      const req = this.mod.request(endpoint, {
        method: 'POST',
        agent: this.agent,
        headers: { ...headers, 'content-length': String(body.byteLength) },
      });
      const fail = (err: TransportError): void => {
        finish(err);
        req.destroy();
      };
      const onAbort = (): void => fail(new TransportError('network', 'aborted: the sink is stopping'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const startRequestTimer = (): void => {
        requestTimer = setTimeout(
          () => fail(new TransportError('request-timeout', `no complete response within requestTimeout ${this.opts.requestTimeoutMs} ms`)),
          this.opts.requestTimeoutMs,
        );
      };

      req.on('socket', (socket: Socket) => {
        if (socket.connecting) {
          connectTimer = setTimeout(
            () => fail(new TransportError('connect-timeout', `no connection within connectTimeout ${this.opts.connectTimeoutMs} ms`)),
            this.opts.connectTimeoutMs,
          );
          socket.once(endpoint.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
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
        const connecting = requestTimer === undefined;
        if (connecting) this.counters.inc('ConnectionFailedCount');
        finish(new TransportError(connecting ? 'connect' : 'network', describe(err), { cause: err }));
      });

      req.on('response', (res: http.IncomingMessage) => {
        const kept: Buffer[] = [];
        let keptBytes = 0;
        res.on('data', (chunk: Buffer) => {
          if (keptBytes < SNIPPET_BYTES) {
            kept.push(chunk);
            keptBytes += chunk.byteLength;
          }
        });
        res.on('end', () => {
          const snippet = Buffer.concat(kept).subarray(0, SNIPPET_BYTES).toString('utf8');
          finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, snippet });
        });
        res.on('error', (err: Error) => finish(new TransportError('network', `response: ${describe(err)}`, { cause: err })));
        res.on('aborted', () => finish(new TransportError('network', 'response aborted by the server')));
      });

      req.end(body);
    });
  }

  /** Counts a connection once, when it is first used (a refused connect counts as failed, not created). */
  private track(socket: Socket): void {
    if (this.seen.has(socket)) return;
    this.seen.add(socket);
    this.counters.inc('ConnectionCreatedCount');
    socket.once('close', () => this.counters.inc('ConnectionClosedCount'));
  }

  close(): void {
    this.agent.destroy();
  }
}

function describe(err: NodeJS.ErrnoException): string {
  return err.code ? `${err.code}: ${err.message}` : err.message;
}
