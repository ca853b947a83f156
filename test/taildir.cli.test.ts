import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cliCommand, ROOT, startCli, type Cli } from './helpers/cli.ts';
import { freePort } from './helpers/net.ts';
import { tempDir, until } from './helpers/poll.ts';
import { compareLines, describeComparison, SeqWriter } from './helpers/seq-writer.ts';

/**
 * The real CLI tailing real files into a file channel and shipping ndjson to
 * a real HTTP server: where tailing starts, partial and over-long lines, many
 * files with few descriptors, a file deleted while it is being read. Each
 * test asserts the exact multiset of delivered lines (unique sequence numbers).
 */

interface Got {
  headers: Record<string, string>;
  body: string;
}

/**
 * A tiny ndjson receiver that keeps each event's headers (the shared Receiver
 * keeps bodies only) and can hold requests unanswered, like a stalled server.
 * An event counts as delivered when its request is answered 200.
 */
class Collector {
  events: Got[] = [];
  held: (() => void)[] = [];
  hold = false;
  private server: Server | undefined;

  async listen(): Promise<number> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = (): void => {
          for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
            if (!line) continue;
            const o = JSON.parse(line) as { headers: Record<string, string>; body?: string; body_base64?: string };
            this.events.push({ headers: o.headers, body: o.body ?? Buffer.from(o.body_base64 ?? '', 'base64').toString('latin1') });
          }
          res.writeHead(200).end('ok');
        };
        if (this.hold) this.held.push(answer);
        else answer();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.server = server;
    return (server.address() as { port: number }).port;
  }

  release(): void {
    this.hold = false;
    for (const a of this.held.splice(0)) a();
  }

  bodies(): string[] {
    return this.events.map((e) => e.body);
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

function quick(watch: string, state: string, port: number, fromBeginning: boolean): Cli {
  return startCli(['--watch', watch, ...(fromBeginning ? ['--from-beginning'] : []), '--data-dir', state, '--http', `http://127.0.0.1:${port}/ingest`]);
}

/** A Flume config: TAILDIR with `source` keys → file channel → ndjson HTTP sink. */
function agentConf(dir: string, port: number, source: Record<string, string | number>, channel: Record<string, number> = {}, sink: Record<string, number> = {}): string {
  const conf = join(dir, 'agent.properties');
  const kv = (prefix: string, o: Record<string, string | number>) => Object.entries(o).map(([k, v]) => `${prefix}.${k} = ${v}`);
  writeFileSync(conf, [
    'a.sources = t', 'a.channels = fc', 'a.sinks = web',
    'a.sources.t.type = TAILDIR', 'a.sources.t.channels = fc',
    `a.sources.t.positionFile = ${join(dir, 'state', 'positions.json')}`,
    'a.sources.t.backoffSleepIncrement = 20', 'a.sources.t.maxBackoffSleep = 100', 'a.sources.t.writePosInterval = 200',
    ...kv('a.sources.t', source),
    'a.channels.fc.type = file', 'a.channels.fc.minimumRequiredSpace = 1048576',
    `a.channels.fc.checkpointDir = ${join(dir, 'state', 'checkpoint')}`, `a.channels.fc.dataDirs = ${join(dir, 'state', 'data')}`,
    ...kv('a.channels.fc', channel),
    'a.sinks.web.type = http', 'a.sinks.web.format = ndjson', 'a.sinks.web.channel = fc', 'a.sinks.web.maxBackoff = 300',
    `a.sinks.web.endpoint = http://127.0.0.1:${port}/ingest`,
    ...kv('a.sinks.web', sink),
    '',
  ].join('\n'));
  return conf;
}

/** The files a quick-mode agent with data dir `state` has positions for. */
function trackedFiles(state: string): string[] {
  return (JSON.parse(readFileSync(join(state, 'taildir', 'positions.json'), 'utf8')) as { file: string }[]).map((p) => p.file);
}

async function started(cli: Cli, agent = 'quick'): Promise<Cli> {
  await cli.waitFor(`agent ${agent} started`, 'stderr');
  return cli;
}

/** SIGTERM and a clean exit: after it nothing more arrives, so the multiset is final. */
async function stop(cli: Cli): Promise<void> {
  assert.is(await cli.stop(), 0, `clean exit\n${cli.stderr.slice(-2000)}`);
}

async function delivered(c: Collector, want: readonly string[], what: string, timeoutMs = 15_000): Promise<void> {
  await until(() => `${what}: ${describeComparison(compareLines(want, c.bodies()))}`, () => compareLines(want, c.bodies()).missing.length === 0, timeoutMs, 25);
}

function assertExact(c: Collector, want: readonly string[]): void {
  const cmp = compareLines(want, c.bodies());
  assert.equal([cmp.missing.length, cmp.duplicates.length, cmp.unexpected.length], [0, 0, 0], describeComparison(cmp));
}

test('--from-beginning reads existing lines on the first start; a restart with it reads nothing twice', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const c = new Collector();
  const port = await c.listen();
  const pre = new SeqWriter(join(logs, 'pre.log'), 'P');
  let cli: Cli | undefined;
  try {
    pre.write(5);
    cli = await started(quick(logs, join(dir, 'state'), port, true));
    await delivered(c, pre.written, 'existing lines');
    pre.write(3);
    await delivered(c, pre.written, 'appended lines');
    await stop(cli);
    cli = await started(quick(logs, join(dir, 'state'), port, true));
    pre.write(2);
    await delivered(c, pre.written, 'lines after the restart');
    await stop(cli);
    assertExact(c, pre.written);
    assert.is(c.events[0].headers.file, pre.path, 'file header');
  } finally {
    cli?.kill('SIGKILL');
    pre.close();
    await c.close();
    cleanup();
  }
});

test('first start without --from-beginning: existing files from their end, a file created later from its start; after a restart a file that appeared meanwhile is read whole', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(join(logs, 'sub'), { recursive: true });
  const c = new Collector();
  const port = await c.listen();
  const old = new SeqWriter(join(logs, 'old.log'), 'O');
  const later = new SeqWriter(join(logs, 'sub', 'new.log'), 'N');
  const down = new SeqWriter(join(logs, 'down.log'), 'D');
  let cli: Cli | undefined;
  try {
    old.write(5);
    cli = await started(quick(logs, join(dir, 'state'), port, false));
    old.write(3);
    later.write(4);
    await delivered(c, [...old.written.slice(5), ...later.written], 'appended and new-file lines');
    await stop(cli);
    down.write(5);
    old.write(2);
    later.write(1);
    cli = await started(quick(logs, join(dir, 'state'), port, false));
    const want = [...old.written.slice(5), ...later.written, ...down.written];
    await delivered(c, want, 'lines written while the agent was down');
    await stop(cli);
    assertExact(c, want);
  } finally {
    cli?.kill('SIGKILL');
    for (const w of [old, later, down]) w.close();
    await c.close();
    cleanup();
  }
});

/** `<tag>p1-----…<tag>p2-----…` cut to `len`: every 16-byte piece is recognisable. */
function longLine(tag: string, len: number): string {
  let s = '';
  for (let i = 1; s.length < len; i++) s += `${tag}p${i}`.padEnd(16, '-');
  return s.slice(0, len);
}

/** The events a line becomes with maxLineLength 16 in split mode, as `split|body` keys. */
function pieces(line: string): string[] {
  if (line.length <= 16) return [`-|${line}`];
  const out: string[] = [];
  for (let i = 0; i * 16 < line.length; i++) out.push(`${i + 1}|${line.slice(i * 16, i * 16 + 16)}`);
  return out;
}

test('a partial last line waits for its newline; lines over maxLineLength are split with a `split` header', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const c = new Collector();
  const port = await c.listen();
  const metrics = await freePort();
  const conf = agentConf(dir, port, { paths: logs, maxLineLength: 16, longLines: 'split', fileHeader: 'true' });
  const a = new SeqWriter(join(logs, 'a.log'), 'T');
  const probe = new SeqWriter(join(logs, 'b.log'), 'B');
  let cli: Cli | undefined;
  const bytesRead = async () => Number(((await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).json()) as Record<string, Record<string, string>>)['SOURCE.t'].BytesRead);
  try {
    cli = await started(startCli(['agent', '-n', 'a', '-f', conf, '--metrics-port', String(metrics)]), 'a');
    a.write(2);
    a.writePartial('T-partial');
    const size = statSync(a.path).size;
    await delivered(c, a.written, 'the whole lines before the partial one');
    await until('the partial bytes read by the agent', async () => (await bytesRead()) >= size);
    probe.write(1);
    await delivered(c, probe.written, 'a later line of another file');
    assert.not.ok(c.bodies().some((b) => b.startsWith('T-partial')), 'the partial line is not delivered before its newline');
    a.finishLine('-done');
    await delivered(c, a.written, 'the partial line once its newline came');

    const exact = longLine('E', 16);
    const just = longLine('J', 17);
    const long = longLine('L', 50);
    // each in one write(2): a line of exactly maxLineLength bytes whose newline comes in a later read
    // currently becomes piece 1 plus an empty piece 2 (reader.ts splits at >= max bytes without a newline)
    for (const l of [exact, just, long]) a.writeLine(l);
    // an over-long line without its newline yet: its full pieces go out at once, never buffered whole
    const open = longLine('U', 40);
    a.writePartial(open);
    const key = (e: Got) => `${e.headers.split ?? '-'}|${e.body}`;
    const keys = () => c.events.map(key);
    await until('the full pieces of the unfinished long line', () => pieces(open).slice(0, 2).every((p) => keys().includes(p)));
    a.finishLine();
    const want = [...[...a.written.slice(0, 3), ...probe.written].map((l) => `-|${l}`), ...[exact, just, long, open].flatMap(pieces)];
    await until(() => `every piece: ${describeComparison(compareLines(want, keys()))}`, () => compareLines(want, keys()).missing.length === 0);
    await stop(cli);
    const cmp = compareLines(want, keys());
    assert.equal([cmp.missing.length, cmp.duplicates.length, cmp.unexpected.length], [0, 0, 0], describeComparison(cmp));
    assert.ok(c.events.every((e) => e.headers.file === a.path || e.headers.file === probe.path), 'file headers');
    assert.not.ok(c.events.some((e) => 'truncated' in e.headers));
  } finally {
    cli?.kill('SIGKILL');
    a.close();
    probe.close();
    await c.close();
    cleanup();
  }
});

test('320 files in nested dirs with maxOpenFiles 32: every line delivered, descriptors bounded', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  const c = new Collector();
  const port = await c.listen();
  const MAX_OPEN = 32;
  const conf = agentConf(dir, port, { paths: logs, maxOpenFiles: MAX_OPEN, idleTimeout: 500, batchSize: 100 });
  const writers: SeqWriter[] = [];
  for (let d = 0; d < 8; d++) {
    for (let e = 0; e < 4; e++) {
      mkdirSync(join(logs, `d${d}`, `e${e}`), { recursive: true });
      for (let f = 0; f < 10; f++) writers.push(new SeqWriter(join(logs, `d${d}`, `e${e}`, `f${f}.log`), `F${d}.${e}.${f}`));
    }
  }
  const all = () => writers.flatMap((w) => w.written);
  let cli: Cli | undefined;
  let sampler: NodeJS.Timeout | undefined;
  let maxTotal = 0;
  let maxTailed = 0;
  try {
    for (const w of writers) {
      w.write(3);
      w.close();
    }
    cli = await started(startCli(['agent', '-n', 'a', '-f', conf]), 'a');
    const pid = cli.child.pid!;
    const sample = () => {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        return;
      }
      let tailed = 0;
      for (const fd of fds) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(logs + '/')) tailed++;
        } catch {
          // closed between the listing and the readlink
        }
      }
      maxTotal = Math.max(maxTotal, fds.length);
      maxTailed = Math.max(maxTailed, tailed);
    };
    sample();
    sampler = setInterval(sample, 20);
    await delivered(c, all(), 'the lines of 320 files', 30_000);
    // every file grows again: closed ones must be reopened within the budget
    for (const w of writers) {
      w.write(2);
      w.close();
    }
    await delivered(c, all(), 'the appended lines of 320 files', 30_000);
    clearInterval(sampler);
    await stop(cli);
    assertExact(c, all());
    // +1: a newly found file is opened briefly to identify it (inode, fingerprint) before the budget decides to keep it
    assert.ok(maxTailed <= MAX_OPEN + 1, `${maxTailed} tailed files open at once > maxOpenFiles ${MAX_OPEN} + 1`);
    assert.ok(maxTotal < writers.length, `${maxTotal} descriptors in all`);
    console.log(`  many files: ${writers.length} files, ${all().length} lines, at most ${maxTailed} tailed files and ${maxTotal} descriptors open`);
  } finally {
    clearInterval(sampler);
    cli?.kill('SIGKILL');
    await c.close();
    cleanup();
  }
});

test('a file deleted while the agent reads it (channel full, receiver stalled) is read to its end', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const c = new Collector();
  c.hold = true;
  const port = await c.listen();
  // a channel of 300 events against a file of 3000 lines: the source is paused well before the end
  const conf = agentConf(dir, port, { paths: logs, batchSize: 50 }, { capacity: 300, transactionCapacity: 100 }, { batchSize: 50 });
  const w = new SeqWriter(join(logs, 'big.log'), 'G');
  let cli: Cli | undefined;
  try {
    w.write(3000);
    w.close();
    cli = await started(startCli(['agent', '-n', 'a', '-f', conf]), 'a');
    await until('the first request held by the stalled receiver', () => c.held.length > 0);
    unlinkSync(w.path);
    c.release();
    await delivered(c, w.written, 'every line of the deleted file');
    await cli.waitFor('deleted and read to its end', 'stderr');
    await stop(cli);
    assertExact(c, w.written);
  } finally {
    cli?.kill('SIGKILL');
    c.release();
    await c.close();
    cleanup();
  }
});


test('each line carries its own file\'s `file` header: takes cut records mid-way, kill -9 while requests hang, restart', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  mkdirSync(join(logs, 'sub'), { recursive: true });
  const c = new Collector();
  const port = await c.listen();
  // records of up to 50 lines (one file each) taken 7 at a time: most takes start in the middle of a record,
  // whose entries after its first carry no header block of their own (SAME_AS_FIRST)
  const conf = agentConf(dir, port, { paths: logs, fileHeader: 'true', batchSize: 50 }, {}, { batchSize: 7 });
  const writers = ['a.log', 'b.log', join('sub', 'c.log'), 'a-much-longer-name-than-the-others.log'].map((n, i) => new SeqWriter(join(logs, n), `H${i}`));
  const all = () => writers.flatMap((w) => w.written);
  let cli: Cli | undefined;
  try {
    for (const w of writers) w.write(120);
    cli = await started(startCli(['agent', '-n', 'a', '-f', conf]), 'a');
    await until('some lines delivered', () => c.events.length >= 40);
    c.hold = true;
    await until('a request held unanswered', () => c.held.length > 0);
    cli.kill('SIGKILL');
    await cli.exited;
    c.held = [];
    c.hold = false;
    cli = await started(startCli(['agent', '-n', 'a', '-f', conf]), 'a');
    for (const w of writers) w.write(30);
    await delivered(c, all(), 'every line after the restart');
    await stop(cli);
    const cmp = compareLines(all(), c.bodies());
    assert.equal([cmp.missing.length, cmp.unexpected.length], [0, 0], describeComparison(cmp));
    const pathOf = new Map(writers.map((w, i) => [`H${i}`, w.path]));
    const wrong = c.events.filter((e) => e.headers.file !== pathOf.get(e.body.split('-')[0]));
    assert.equal(wrong.slice(0, 3), [], `${wrong.length} of ${c.events.length} lines with another file's header`);
  } finally {
    cli?.kill('SIGKILL');
    for (const w of writers) w.close();
    await c.close();
    cleanup();
  }
});

test('--watch over a tree that holds the agent\'s own data dir never tails its channel or positions (it would feed on itself)', async () => {
  const { dir, cleanup } = tempDir();
  const logs = join(dir, 'logs');
  const state = join(logs, 'flume-state');
  mkdirSync(logs, { recursive: true });
  const c = new Collector();
  const port = await c.listen();
  const app = new SeqWriter(join(logs, 'app.log'), 'S');
  let cli: Cli | undefined;
  try {
    app.write(50);
    // from the beginning: the segments, checkpoint, locks and positions file would all be read whole
    cli = await started(quick(logs, state, port, true));
    await delivered(c, app.written, 'the log file');
    for (let i = 0; i < 5; i++) {
      app.write(40);
      await delivered(c, app.written, `round ${i}`);
    }
    await stop(cli);
    cli = await started(quick(logs, state, port, true));
    app.write(10);
    await delivered(c, app.written, 'after a restart');
    await stop(cli);
    assertExact(c, app.written);
    const tracked = trackedFiles(state);
    assert.equal(tracked, [app.path], 'only the log file has a position');
  } finally {
    cli?.kill('SIGKILL');
    app.close();
    await c.close();
    cleanup();
  }
});

test('the agent\'s own files are recognised through a symlinked watch root, and its own stdout in the watched tree is not tailed', async () => {
  const { dir, cleanup } = tempDir();
  const real = join(dir, 'real');
  const link = join(dir, 'link');
  mkdirSync(real);
  symlinkSync(real, link);
  const c = new Collector();
  const port = await c.listen();
  const app = new SeqWriter(join(real, 'app.log'), 'Y');
  let cli: Cli | undefined;
  try {
    app.write(20);
    // watched through the symlink, the data dir named by its real path: the same directory, spelled two ways
    cli = await started(quick(link, join(real, 'state'), port, true));
    await delivered(c, app.written, 'the log file');
    app.write(20);
    await delivered(c, app.written, 'appended lines');
    await stop(cli);
    assertExact(c, app.written);
    const tracked = trackedFiles(join(real, 'state'));
    assert.equal(tracked, [join(link, 'app.log')], 'only the log file has a position');
    // and the other way round: the real directory watched, the data dir named through the symlink (a symlinked home)
    const realB = join(dir, 'real-b');
    const linkB = join(dir, 'link-b');
    mkdirSync(realB);
    symlinkSync(realB, linkB);
    const appB = new SeqWriter(join(realB, 'app.log'), 'X');
    appB.write(5);
    cli = await started(quick(realB, join(linkB, 'state'), port, true));
    await delivered(c, [...app.written, ...appB.written], 'lines with the data dir named through the symlink');
    await stop(cli);
    appB.close();
    const trackedB = trackedFiles(join(realB, 'state'));
    assert.equal(trackedB, [join(realB, 'app.log')], 'only the log file has a position');
    assertExact(c, [...app.written, ...appB.written]);
  } finally {
    cli?.kill('SIGKILL');
    app.close();
    await c.close();
  }
  // the logger sink's stdout (and the agent's log) redirected to a file in the watched dir
  const logs = join(dir, 'out-logs');
  mkdirSync(logs);
  const out = join(logs, 'flume.out');
  const fd = openSync(out, 'a');
  const w = new SeqWriter(join(logs, 'app.log'), 'Z');
  const [cmd, ...pre] = cliCommand('node');
  const child = spawn(cmd, [...pre, '--watch', logs, '--from-beginning', '--data-dir', join(dir, 'state2')], { cwd: ROOT, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise((r) => child.on('exit', r));
  try {
    w.write(5);
    await until('the lines printed to the file', () => w.written.every((l) => readFileSync(out, 'utf8').includes(`${l}\n`)));
    w.write(5);
    await until('the appended lines printed', () => w.written.every((l) => readFileSync(out, 'utf8').includes(`${l}\n`)));
    child.kill('SIGTERM');
    await exited;
    const text = readFileSync(out, 'utf8');
    for (const l of w.written) assert.is(text.split(`${l}\n`).length - 1, 1, `${l} printed once, not fed back`);
    assert.match(text, /flume\.out is where this agent's own output goes \(stdout or stderr\): not tailed/);
  } finally {
    child.kill('SIGKILL');
    w.close();
    cleanup();
  }
});

test.run();
