import { createServer, connect, type Socket } from 'node:net';

/** A free TCP port on 127.0.0.1 (bound then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A line-oriented TCP client that collects what the server replies. */
export class LineClient {
  received = '';
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (this.received += d));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  static async connect(port: number, host = '127.0.0.1', timeoutMs = 15_000): Promise<LineClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect({ port, host }, () => resolve(s));
          s.once('error', reject);
        });
        return new LineClient(socket);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  send(text: string): void {
    this.socket.write(text);
  }

  lines(): string[] {
    return this.received.split('\n').filter(Boolean);
  }

  close(): void {
    this.socket.end();
  }
}
