import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RateTracker } from '../src/metrics/rates.ts';
import type { RateView } from '../src/metrics/rates.ts';
import type { AgentSnapshot, ComponentSnapshot } from '../src/metrics/snapshot.ts';
import type { DashboardProps } from '../tui/dashboard.tsx';
import { sampleSnapshot } from '../tui/sample-snapshot.ts';

// Ink (through yoga-layout) is ESM with top-level await, which `uvu -r tsx` cannot require:
// it is loaded with import() instead, once, before the tests. The dashboard first, as in the
// app, so React loads in the same (production) mode as it does there.
let render: typeof import('ink-testing-library').render;
let h: typeof import('react').createElement;
let Dashboard: typeof import('../tui/dashboard.tsx').Dashboard;
let DashboardApp: typeof import('../tui/dashboard.tsx').DashboardApp;
test.before(async () => {
  ({ Dashboard, DashboardApp } = await import('../tui/dashboard.tsx'));
  ({ render } = await import('ink-testing-library'));
  ({ createElement: h } = await import('react'));
});

/** Rates as the app computes them: a tracker fed a few seconds of samples. */
function ratesFor(snaps: AgentSnapshot[]): RateView {
  const t = new RateTracker();
  let v: RateView = {};
  for (const s of snaps) v = t.update(s);
  return v;
}

/** The frame as a reader sees it: colours removed (the words must carry the meaning on their own). */
const plain = (s: string | undefined): string => (s ?? '').replace(/\u001b\[[0-9;]*m/g, '');

function frame(props: Partial<DashboardProps> & { snapshot?: AgentSnapshot }): string {
  const r = render(h(Dashboard, { title: 'flume-tail · agent a1', rates: {}, columns: 80, rows: 24, ...props }));
  const out = plain(r.lastFrame());
  r.unmount();
  return out;
}

const single = (at: number, c: ComponentSnapshot[]): AgentSnapshot => ({ agent: 'a1', at, startedAt: 0, components: c });
const memChannel = (size: number, capacity: number, extra: Record<string, number> = {}): ComponentSnapshot =>
  ({ kind: 'CHANNEL', name: 'c1', type: 'memory', counters: { ChannelSize: size, ChannelCapacity: capacity, ChannelFillPercentage: (size * 100) / capacity, ...extra } });
const httpSink = (drained: number, extra: Record<string, number> = {}): ComponentSnapshot =>
  ({ kind: 'SINK', name: 'k1', type: 'http', counters: { EventDrainSuccessCount: drained, ...extra } });
const tailSource = (accepted: number, extra: Record<string, number> = {}): ComponentSnapshot =>
  ({ kind: 'SOURCE', name: 'r1', type: 'TAILDIR', counters: { EventAcceptedCount: accepted, ...extra } });

test('a channel shows its fill as a bar with percentage, size/capacity and a word for its state', () => {
  const f = frame({ snapshot: single(1000, [memChannel(450, 1000)]) });
  assert.match(f, /c1\s+memory\s+█+░+\s+45%\s+450\/1.00k ● OK/);
  assert.match(frame({ snapshot: single(1000, [memChannel(800, 1000)]) }), /80%.*◐ HIGH/);
  assert.match(frame({ snapshot: single(1000, [memChannel(1000, 1000)]) }), /100%.*✖ FULL/);
});

test('file channel extras: bytes on disk, oldest event age, fsync latency; replay progress while recovering', () => {
  const c = memChannel(10, 100, { ChannelBytesOnDisk: 5 * 1024 * 1024, OldestEventAgeMs: 3200, FsyncLatencyP50Us: 820, FsyncLatencyP99Us: 4100 });
  const f = frame({ snapshot: single(1000, [{ ...c, type: 'file' }]) });
  assert.match(f, /disk 5.0 MiB · oldest 3.2s · fsync p50 0.82 p99 4.1ms/);
  const replaying = frame({ snapshot: single(1000, [{ ...c, type: 'file', counters: { ...c.counters, ReplayProgressPercent: 42, ReplayEventsPerSec: 250_000 } }]) });
  assert.match(replaying, /◐ REPLAYING 42%/);
  assert.match(replaying, /replay █+░+ 42% · 250k\/s/);
  assert.not.match(frame({ snapshot: single(1000, [{ ...c, counters: { ...c.counters, ReplayProgressPercent: 100 } }]) }), /REPLAYING/);
});

test('a file channel whose start failed reads FAILED, not REPLAYING 0%; one whose last write failed WRITE FAILED; one never started NOT STARTED; one stopped STOPPED', () => {
  const c = memChannel(0, 100);
  const failed = frame({ snapshot: single(1000, [{ ...c, type: 'file', counters: { ...c.counters, ReplayProgressPercent: 0, Open: 0, Unhealthy: 1 } }]) });
  assert.match(failed, /c1\s+file\s+.*✖ FAILED/);
  assert.not.match(failed, /REPLAYING|replay /);
  const writeFailed = frame({ snapshot: single(1000, [{ ...c, type: 'file', counters: { ...c.counters, ReplayProgressPercent: 100, Open: 1, Unhealthy: 1 } }]) });
  assert.match(writeFailed, /✖ WRITE FAILED/);
  const running = frame({ snapshot: single(1000, [{ ...c, type: 'file', counters: { ...c.counters, ReplayProgressPercent: 100, Open: 1, Unhealthy: 0 } }]) });
  assert.match(running, /● OK/);
  // the start failed at another channel before this one's turn: it never started, it is not replaying
  const notStarted = frame({ snapshot: single(1000, [{ ...c, type: 'file', counters: { ...c.counters, ReplayProgressPercent: 0, Open: 0, Unhealthy: 0, StartTime: 0 } }]) });
  assert.match(notStarted, /○ NOT STARTED/);
  assert.not.match(notStarted, /REPLAYING|replay /);
  // stopped after a failed write: stopped, not failed
  const stopped = frame({ snapshot: single(1000, [{ ...c, type: 'file', counters: { ...c.counters, ReplayProgressPercent: 100, Open: 0, Unhealthy: 1, StartTime: 5, StopTime: 9 } }]) });
  assert.match(stopped, /■ STOPPED/);
});

test('components render only the counters they have', () => {
  const f = frame({ snapshot: single(1000, [{ kind: 'CHANNEL', name: 'bare', type: 'memory', counters: { ChannelSize: 3 } }]) });
  assert.match(f, /bare/);
  assert.not.match(f, /disk|fsync|oldest|NaN|undefined/);
});

test('sources and sinks show events/s now, a sparkline, totals and errors; flowing reads FLOWING', () => {
  const snaps = [0, 1, 2, 3].map((i) => single(i * 1000, [tailSource(i * 1500), httpSink(i * 1200)]));
  const f = frame({ snapshot: snaps[3], rates: ratesFor(snaps) });
  assert.match(f, /r1\s+TAILDIR ● FLOWING\s+1.50k\/s [▁-█ ]+ total 4.50k\s+err 0/);
  assert.match(f, /k1\s+http\s+● FLOWING\s+1.20k\/s [▁-█ ]+ total 3.60k\s+err 0/);
});

test('a sink in backoff reads BACKOFF with the reason; one that keeps failing reads FAILING', () => {
  const backoff = [single(0, [httpSink(100)]), single(1000, [{ ...httpSink(150, { BackoffMs: 2000, ConsecutiveFailures: 1, EventWriteFail: 10, LastStatus: 503 }), details: { lastError: 'HTTP 503 busy' } }])];
  const b = frame({ snapshot: backoff[1], rates: ratesFor(backoff), columns: 120 });
  assert.match(b, /k1\s+http\s+◐ BACKOFF/);
  assert.match(b, /↳ backoff 2.0s · 1 failed in a row · last HTTP 503 · 10 errors in 10s · HTTP 503 busy/);
  const failing = [single(0, [httpSink(100)]), single(1000, [httpSink(100, { BackoffMs: 8000, ConsecutiveFailures: 4, EventWriteFail: 40, LastStatus: 500 })])];
  const x = frame({ snapshot: failing[1], rates: ratesFor(failing) });
  assert.match(x, /k1\s+http\s+✖ FAILING\s+0\/s/);
  assert.match(x, /err 40/);
  // under flume-tail's runner a sink's errors are its failed deliveries, not the events of every failed attempt
  const runner = [single(0, [httpSink(100, { DeliveryFailCount: 0, EventWriteFail: 0 })]), single(1000, [httpSink(100, { BackoffMs: 8000, ConsecutiveFailures: 4, DeliveryFailCount: 4, EventWriteFail: 200 })])];
  const y = frame({ snapshot: runner[1], rates: ratesFor(runner), columns: 120 });
  assert.match(y, /err 4\b/);
  assert.not.match(y, /err 200/);
  assert.match(y, /4 errors in 10s/);
  // A Flume agent reports no ConsecutiveFailures: errors with nothing delivered is failing.
  const flume = [single(0, [httpSink(100)]), single(1000, [httpSink(100, { EventWriteFail: 3 })])];
  assert.match(frame({ snapshot: flume[1], rates: ratesFor(flume) }), /✖ FAILING/);
});

test('a source refused by a full channel reads BACKOFF "channel full"; an idle one IDLE; a stopped one STOPPED', () => {
  const s = [single(0, [tailSource(0, { ChannelWriteFail: 0 })]), single(1000, [tailSource(0, { ChannelWriteFail: 5 })])];
  const f = frame({ snapshot: s[1], rates: ratesFor(s) });
  assert.match(f, /r1\s+TAILDIR ◐ BACKOFF/);
  assert.match(f, /↳ channel full, retrying/);
  const idle = [single(0, [tailSource(7)]), single(1000, [tailSource(7)])];
  assert.match(frame({ snapshot: idle[1], rates: ratesFor(idle) }), /○ IDLE\s+0\/s/);
  assert.match(frame({ snapshot: single(0, [tailSource(7, { StopTime: 5 })]) }), /■ STOPPED/);
});

test('taildir files are listed most-behind first, top N by lag', () => {
  const snap = sampleSnapshot({ files: 12 });
  const f = frame({ snapshot: snap, columns: 100, rows: 40 });
  const lines = f.split('\n').filter((l) => /lag /.test(l));
  assert.ok(lines.length > 3, f);
  assert.match(lines[0], /service-06\.log\s+lag 48 KiB/);
  assert.match(lines[1], /service-05\.log\s+lag 40 KiB/);
  const small = frame({ snapshot: snap, columns: 80, rows: 24 });
  assert.match(small, /Files · 12 tailed, top \d+ by lag/);
});

test('fits 80×24 with every panel, and uses the room when there is more', () => {
  const snaps = [0, 1, 2].map((t) => sampleSnapshot({ t }));
  const events = Array.from({ length: 50 }, (_, i) => `event line ${i}`);
  const small = frame({ snapshot: snaps[2], rates: ratesFor(snaps), recentEvents: events, columns: 80, rows: 24 });
  const lines = small.split('\n');
  assert.ok(lines.length < 24, `${lines.length} lines:\n${small}`);
  for (const l of lines) assert.ok([...l].length <= 80, `too wide: ${l}`);
  for (const word of ['Channels', 'Sources', 'Sinks', 'Files', 'Recent events', 'event line 49']) assert.ok(small.includes(word), `${word} missing:\n${small}`);
  const big = frame({ snapshot: snaps[2], rates: ratesFor(snaps), recentEvents: events, columns: 160, rows: 50 });
  assert.ok(big.split('\n').length > lines.length);
  assert.ok(big.split('\n').filter((l) => /event line/.test(l)).length > small.split('\n').filter((l) => /event line/.test(l)).length);
  assert.ok(Math.max(...big.split('\n').map((l) => [...l].length)) > 80);
});

test('text from outside (event lines, file paths) cannot break rows or send escapes', () => {
  const snap = single(0, [{ ...tailSource(1), details: { files: [{ path: '/var/log/a\nb.log', lag: 5, offset: 1, size: 6 }] } }]);
  const f = frame({ snapshot: snap, recentEvents: ['evil\u001b[2Jline\nsecond', 'x'.repeat(10_000)], columns: 80, rows: 30 });
  assert.match(f, /evil·\[2Jline·second/);
  assert.match(f, /\/var\/log\/a·b\.log\s+lag 5 B/);
  for (const line of f.split('\n')) assert.ok([...line].length <= 80, `too wide: ${line}`);
});

test('an error line says what is wrong and how old the data on screen is; no snapshot yet says waiting', () => {
  const s = sampleSnapshot();
  const f = frame({ snapshot: s, error: 'cannot reach http://127.0.0.1:1/snapshot: ECONNREFUSED', now: s.at + 12_000, columns: 120 });
  assert.match(f, /✖ data 12s old · cannot reach http:\/\/127.0.0.1:1\/snapshot: ECONNREFUSED/);
  assert.match(frame({}), /waiting for the first snapshot/);
});

test('keys: tab and arrows move the focus between panels, q quits', async () => {
  let quit = 0;
  const snap = sampleSnapshot();
  const r = render(h(DashboardApp, { title: 't', snapshot: snap, rates: {}, recentEvents: ['x'], columns: 100, rows: 40, onQuit: () => quit++ }));
  const focused = (): string => /▶ (\w+)/.exec(plain(r.lastFrame()))?.[1] ?? '';
  const press = async (s: string): Promise<void> => {
    r.stdin.write(s);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
  };
  assert.is(focused(), 'Channels');
  await press('\t');
  assert.is(focused(), 'Sources');
  await press('\u001b[C'); // right arrow
  assert.is(focused(), 'Sinks');
  await press('\u001b[B'); // down arrow
  assert.is(focused(), 'Files');
  await press('\t');
  assert.is(focused(), 'Recent');
  await press('\t');
  assert.is(focused(), 'Channels', 'wraps around');
  await press('\u001b[D'); // left arrow
  assert.is(focused(), 'Recent');
  assert.is(quit, 0);
  await press('q');
  assert.is(quit, 1);
  r.unmount();
});

test('the header shows the uptime once the agent has started, and none before (a failed start is not "up 20783d")', () => {
  const s = sampleSnapshot();
  assert.match(frame({ snapshot: { ...s, startedAt: s.at - 65_000 } }), 'flume-tail · agent a1 · up 1m05s');
  assert.not.match(frame({ snapshot: { ...s, startedAt: 0 } }), ' · up ');
});

test('a sink that dropped or dead-lettered events says how many: on its row when there is room, on its detail line always; one that did not says neither', () => {
  const snaps = [single(0, [httpSink(100, { DeliveryFailCount: 0, EventsDropped: 0, EventsDeadLettered: 0 })]), single(1000, [httpSink(170, { DeliveryFailCount: 3, EventsDropped: 30, EventsDeadLettered: 1200 })])];
  const f = frame({ snapshot: snaps[1], rates: ratesFor(snaps), columns: 100 });
  assert.match(f, /k1\s+http\s+.*total 170\s+err 3 dropped 30 dlq 1.20k/);
  assert.match(f, /↳ .*30 dropped · 1.20k dead-lettered/);
  const clean = frame({ snapshot: snaps[0], rates: ratesFor(snaps.slice(0, 1)), columns: 100 });
  assert.match(clean, /err 0/);
  assert.not.match(clean, /dropped|dlq|dead-lettered/);
  // a healthy sink has no detail line (its last status, 200, is no news)
  const healthy = [single(0, [httpSink(100, { LastStatus: 200 })]), single(1000, [httpSink(200, { LastStatus: 200 })])];
  assert.not.match(frame({ snapshot: healthy[1], rates: ratesFor(healthy), columns: 100 }), /↳/);
  // 80 columns, a name and a type as long as the columns take: no room on the row, and nothing cut off there
  const long = (at: number, drained: number, extra: Record<string, number>): AgentSnapshot =>
    single(at, [{ kind: 'SINK', name: 'ship-to-elastic-eu', type: 'file_roll', counters: { EventDrainSuccessCount: drained, ...extra } }]);
  const wide = [long(0, 100, { DeliveryFailCount: 0 }), long(1000, 170, { DeliveryFailCount: 12_300, EventsDropped: 45_700, EventsDeadLettered: 12_300 })];
  const narrow = frame({ snapshot: wide[1], rates: ratesFor(wide), columns: 80 });
  assert.match(narrow, /err 12.3k\s*│/);
  assert.match(narrow, /↳ .*45.7k dropped · 12.3k dead-lettered/);
});

test.run();
