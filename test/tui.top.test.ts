import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { toFlumeJson } from '../src/metrics/flume-json.ts';
import { startMetricsServer } from '../src/metrics/server.ts';
import type { AgentSnapshot } from '../src/metrics/snapshot.ts';
import { sampleSnapshot } from '../tui/sample-snapshot.ts';
import { until } from './helpers/poll.ts';

// Loaded with import(): Ink is ESM with top-level await, which `uvu -r tsx` cannot require.
let runDashboard: typeof import('../tui/dashboard.tsx').runDashboard;
let snapshotPoller: typeof import('../tui/top.ts').snapshotPoller;
test.before(async () => {
  ({ runDashboard } = await import('../tui/dashboard.tsx'));
  ({ snapshotPoller } = await import('../tui/top.ts'));
});

/** A terminal for Ink: keeps the last frame, takes keys. */
class FakeTerminal extends EventEmitter {
  isTTY = true;
  columns = 100;
  rows = 40;
  frames: string[] = [];
  write = (s: string): boolean => {
    this.frames.push(s);
    return true;
  };
  get text(): string {
    return this.frames.join('').replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
  }
}
class FakeKeys extends EventEmitter {
  isTTY = true;
  private pending: string | null = null;
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
  read = (): string | null => {
    const p = this.pending;
    this.pending = null;
    return p;
  };
  press(s: string): void {
    this.pending = s;
    this.emit('readable');
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done((server.address() as { port: number }).port)));
}

test('top reads /snapshot from a flume-tail agent', async () => {
  const snap = sampleSnapshot({ t: 5 });
  const server = await startMetricsServer({ port: 0, snapshot: () => snap });
  try {
    const s = await snapshotPoller(`http://127.0.0.1:${server.port}/`)();
    assert.equal(s, snap);
  } finally {
    await server.close();
  }
});

test('top falls back to Flume JSON at /metrics when /snapshot is 404, and stops asking for /snapshot', async () => {
  const paths: string[] = [];
  const flume = createServer((req, res) => {
    paths.push(req.url ?? '');
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(toFlumeJson(sampleSnapshot())));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  const port = await listen(flume);
  try {
    const poll = snapshotPoller(`http://127.0.0.1:${port}`);
    const s: AgentSnapshot = await poll();
    assert.equal(s.components.map((c) => `${c.kind}.${c.name}`).sort(), ['CHANNEL.c1', 'CHANNEL.c2', 'SINK.k1', 'SINK.k2', 'SOURCE.r1', 'SOURCE.r2']);
    assert.is(s.components.find((c) => c.name === 'c1')?.counters.ChannelCapacity, 100_000);
    await poll();
    assert.equal(paths, ['/snapshot', '/metrics', '/metrics']);
  } finally {
    await new Promise((r) => flume.close(r));
  }
});

test('an unreachable agent is an error naming the URL and the cause', async () => {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise((r) => probe.close(r));
  const err = await snapshotPoller(`http://127.0.0.1:${port}`)().then(() => undefined, (e: Error & { code?: string }) => e);
  assert.is(err?.code, 'TOP_UNREACHABLE');
  assert.match(err?.message ?? '', new RegExp(`cannot reach http://127.0.0.1:${port}/snapshot: ECONNREFUSED`));
});

test('runDashboard polls, shows an error line while polls fail and recovers; q calls onQuit and exits', async () => {
  const term = new FakeTerminal();
  const keys = new FakeKeys();
  let t = 0;
  let down = false;
  let quits = 0;
  const ui = runDashboard({
    title: 'flume-tail top · test',
    poll: () => {
      if (down) throw new Error('cannot reach the agent');
      return sampleSnapshot({ t: t++ });
    },
    recentEvents: () => ['first event'],
    intervalMs: 30,
    onQuit: () => void quits++,
    stdout: term as unknown as NodeJS.WriteStream,
    stdin: keys as unknown as NodeJS.ReadStream,
  });
  try {
    await until('a frame with rates', () => /r1\s+TAILDIR ● FLOWING\s+1.20k\/s/.test(term.text) && /first event/.test(term.text));
    down = true;
    term.frames.length = 0;
    await until('the error line', () => /✖ data \S+ old · cannot reach the agent/.test(term.text));
    assert.match(term.text, /Channels/, 'the last snapshot stays on screen');
    down = false;
    term.frames.length = 0;
    await until('recovery', () => /Channels/.test(term.text) && !/cannot reach/.test(term.text));
    keys.press('q');
    await ui.waitUntilExit();
    assert.is(quits, 1);
    const frames = term.frames.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.is(term.frames.length, frames, 'no drawing after exit');
  } finally {
    ui.unmount();
    ui.unmount();
  }
});

/** A dashboard drawing on a fake terminal. */
function dashboardOn(poll: () => AgentSnapshot, intervalMs: number): { term: FakeTerminal; ui: ReturnType<typeof runDashboard> } {
  const term = new FakeTerminal();
  const ui = runDashboard({
    title: 'flume-tail · test',
    poll,
    intervalMs,
    onQuit: () => undefined,
    stdout: term as unknown as NodeJS.WriteStream,
    stdin: new FakeKeys() as unknown as NodeJS.ReadStream,
  });
  return { term, ui };
}

test('finish polls once more and leaves that frame on screen: a start that failed ends on FAILED, not on the frame before', async () => {
  let failed = false;
  const channel = (extra: Record<string, number>) => ({ kind: 'CHANNEL' as const, name: 'ch', type: 'file', counters: { ChannelSize: 0, ChannelCapacity: 1000, ReplayProgressPercent: 0, Open: 0, ...extra } });
  // polling fast: were it to go on after finish, frames would come within the wait below
  const { term, ui } = dashboardOn(() => ({ agent: 'quick', at: Date.now(), startedAt: 0, components: [channel({ Unhealthy: failed ? 1 : 0 })] }), 20);
  try {
    await until('the first frame', () => /REPLAYING/.test(term.text));
    failed = true;
    term.frames.length = 0;
    await ui.finish();
    assert.match(term.text, /ch\s+file\s+.*✖ FAILED/);
    const frames = term.frames.length;
    await new Promise((r) => setTimeout(r, 50));
    assert.is(term.frames.length, frames, 'nothing drawn after it');
  } finally {
    ui.unmount();
  }
});

test('once a resize settles the screen is cleared and the frame drawn again from its top, so no part of a wider frame stays above it', async () => {
  const { term, ui } = dashboardOn(() => sampleSnapshot({ t: 0 }), 10_000);
  try {
    await until('the first frame', () => /Channels/.test(term.text));
    term.frames.length = 0;
    term.columns = 60;
    // a drag sends many: one clean redraw once they settle
    for (let i = 0; i < 5; i++) term.emit('resize');
    const clearAt = (): number => term.frames.indexOf('\u001b[2J\u001b[H');
    await until('the screen cleared, then the frame drawn again', () => clearAt() >= 0 && /Channels/.test(term.frames.slice(clearAt() + 1).join('')));
    assert.is(term.frames.filter((f) => f === '\u001b[2J\u001b[H').length, 1, 'one clear for the five events');
  } finally {
    ui.unmount();
  }
  assert.is(term.listenerCount('resize'), 0, 'nothing left listening once it is gone');
});

test.run();
