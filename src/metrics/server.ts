import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { FlumeError } from '../core/errors.ts';
import { toFlumeJson } from './flume-json.ts';
import { toPrometheus } from './prometheus.ts';
import type { AgentSnapshot } from './snapshot.ts';

/**
 * The agent's metrics endpoint, in Flume's HTTP monitoring shape:
 *   GET /metrics             Flume JSON (all values strings)
 *   GET /metrics/prometheus  Prometheus text 0.0.4
 *   GET /snapshot            our AgentSnapshot as JSON (what `flume-tail top` reads)
 *   GET /                    a tiny index page
 * TRACE and OPTIONS answer 403 as Flume's Jetty handler does; other paths 404.
 * Binds 127.0.0.1 unless told otherwise: counters reveal file paths.
 */
export interface MetricsServerOptions {
  host?: string;
  /** 0 picks a free port; the chosen one is returned. */
  port: number;
  snapshot: () => AgentSnapshot;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export class MetricsServerError extends FlumeError {
  constructor(readonly host: string, readonly port: number, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException)?.code;
    const hint = code === 'EADDRINUSE' ? 'another process uses that port; choose another --metrics-port'
      : code === 'EACCES' ? 'ports below 1024 need privileges; choose another --metrics-port'
      : 'check --metrics-host and --metrics-port';
    super('METRICS_LISTEN', `metrics server cannot listen on ${host}:${port}: ${code ?? (cause as Error)?.message}; ${hint}`, { cause });
  }
}

const INDEX = `<!doctype html>
<html><head><title>flume-tail metrics</title></head><body>
<h1>flume-tail metrics</h1>
<ul>
<li><a href="/metrics">/metrics</a> (Flume JSON)</li>
<li><a href="/metrics/prometheus">/metrics/prometheus</a> (Prometheus text)</li>
<li><a href="/snapshot">/snapshot</a> (raw snapshot, for <code>flume-tail top</code>)</li>
</ul>
</body></html>
`;

export function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const host = opts.host ?? '127.0.0.1';
  // Tracked so close() can end keep-alive connections on every runtime (closeAllConnections is Node-only).
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => handle(req, res, opts.snapshot));
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  return new Promise((resolve, reject) => {
    const onError = (err: unknown): void => reject(new MetricsServerError(host, opts.port, err));
    server.once('error', onError);
    server.listen(opts.port, host, () => {
      server.off('error', onError);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : opts.port;
      let closing: Promise<void> | undefined;
      resolve({
        port,
        close: () => (closing ??= new Promise<void>((done) => {
          server.close(() => done());
          for (const s of sockets) s.destroy();
        })),
      });
    });
  });
}

function handle(req: IncomingMessage, res: ServerResponse, snapshot: () => AgentSnapshot): void {
  const method = req.method ?? 'GET';
  if (method === 'TRACE' || method === 'OPTIONS') return send(res, 403, 'text/plain; charset=utf-8', 'Forbidden\n');
  const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
  const routes: Record<string, () => [string, string]> = {
    '/': () => ['text/html; charset=utf-8', INDEX],
    '/metrics': () => ['application/json', JSON.stringify(toFlumeJson(snapshot()))],
    '/metrics/prometheus': () => ['text/plain; version=0.0.4; charset=utf-8', toPrometheus(snapshot())],
    '/snapshot': () => ['application/json', JSON.stringify(snapshot())],
  };
  const route = routes[path];
  if (!route) return send(res, 404, 'text/plain; charset=utf-8', `Not found: ${path}\n`);
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', `Method ${method} not allowed\n`);
  }
  let body: [string, string];
  try {
    body = route();
  } catch (err) {
    return send(res, 500, 'text/plain; charset=utf-8', `snapshot failed: ${(err as Error).message}\n`);
  }
  send(res, 200, body[0], method === 'HEAD' ? '' : body[1], Buffer.byteLength(body[1]));
}

function send(res: ServerResponse, status: number, type: string, body: string, length = Buffer.byteLength(body)): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': length, 'Cache-Control': 'no-store' });
  res.end(body);
}
