// The counting receiver in a process of its own (its own event loop and core),
// driven over IPC by RemoteReceiver: the fair way to give the agent a receiver
// that does not share the bench process's event loop with the writer.
//   node --import tsx scripts/lib/receiver-child.ts   (spawned with an IPC channel)
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CountingReceiver, type Faults, type ReceiverStats } from './receiver.ts';

type Cmd =
  | { op: 'listen'; port: number }
  | { op: 'reset'; measureLatency: boolean }
  | { op: 'stats' }
  | { op: 'missing'; from: number; to: number }
  | { op: 'faults'; faults: Faults }
  | { op: 'wait'; n: number }
  | { op: 'close' };

interface Msg { id: number; cmd: Cmd }

/** Drives a CountingReceiver in a child process. */
export class RemoteReceiver {
  private child: ChildProcess;
  private nextId = 1;
  private pending = new Map<number, (v: unknown) => void>();
  port = 0;

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: { id: number; result: unknown }) => {
      this.pending.get(m.id)?.(m.result);
      this.pending.delete(m.id);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  private call<T>(cmd: Cmd): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      this.pending.set(id, resolve as (v: unknown) => void);
      this.child.send({ id, cmd } satisfies Msg);
    });
  }

  async listen(port = 0): Promise<number> {
    this.port = await this.call<number>({ op: 'listen', port });
    return this.port;
  }
  reset(measureLatency = false): Promise<void> {
    return this.call({ op: 'reset', measureLatency });
  }
  stats(): Promise<ReceiverStats> {
    return this.call({ op: 'stats' });
  }
  countMissing(from: number, to: number): Promise<number> {
    return this.call({ op: 'missing', from, to });
  }
  setFaults(faults: Faults): Promise<void> {
    return this.call({ op: 'faults', faults });
  }
  /** Resolves when `n` distinct seqs arrived, or rejects after `timeoutMs`. */
  async waitForDistinct(n: number, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`receiver: ${n} distinct lines not reached in ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.call({ op: 'wait', n }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
  async close(): Promise<void> {
    await this.call({ op: 'close' }).catch(() => undefined);
    this.child.kill('SIGKILL');
  }
}

function serve(): void {
  const r = new CountingReceiver();
  const reply = (id: number, result: unknown) => process.send!({ id, result });
  process.on('message', (m: Msg) => {
    const c = m.cmd;
    switch (c.op) {
      case 'listen':
        void r.listen(c.port).then((p) => reply(m.id, p));
        break;
      case 'reset':
        r.reset();
        r.measureLatency = c.measureLatency;
        reply(m.id, null);
        break;
      case 'stats':
        reply(m.id, r.stats());
        break;
      case 'missing':
        reply(m.id, r.countMissing(c.from, c.to));
        break;
      case 'faults':
        r.faults = c.faults;
        reply(m.id, null);
        break;
      case 'wait':
        void r.waitForDistinct(c.n).then(() => reply(m.id, null));
        break;
      case 'close':
        void r.close().then(() => {
          reply(m.id, null);
          process.exit(0);
        });
        break;
    }
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.argv.includes('--child')) serve();
