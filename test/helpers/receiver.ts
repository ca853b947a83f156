import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';

/**
 * A real local HTTP receiver that collects ndjson (or text) events and can be
 * told to fail. It can listen on a port chosen in advance, so a test can point
 * an agent at it while it is still down.
 */
export class Receiver {
  bodies: string[] = [];
  requests = 0;
  /** Decides each response; default 200. */
  respond: (req: IncomingMessage) => number = () => 200;
  private server: Server | undefined;

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    return (server.address() as { port: number }).port;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests++;
      const status = this.respond(req);
      if (status >= 200 && status < 300) {
        let raw = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
        const type = String(req.headers['content-type'] ?? '');
        const text = raw.toString('utf8');
        if (type.includes('ndjson')) {
          for (const line of text.split('\n')) if (line) this.bodies.push((JSON.parse(line) as { body: string }).body);
        } else if (type.includes('json')) {
          for (const o of JSON.parse(text) as { body: string }[]) this.bodies.push(o.body);
        } else {
          for (const line of text.split('\n')) this.bodies.push(line);
        }
      }
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'fail');
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
