import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { tempDir, until } from './helpers/poll.ts';

/**
 * The real CLI with --tui in a real terminal (tmux): lines flow in over TCP,
 * the screen shows the channel's fill and a non-zero events/s, the logger
 * sink's output lands in the recent-events pane, and `q` stops the agent
 * with exit status 0.
 */
const root = resolve(import.meta.dirname, '..');
const socketName = `flume-tail-e2e-${process.pid}`;
const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socketName, '-f', '/dev/null', ...args], { encoding: 'utf8' });
const screen = (): string => tmux('capture-pane', '-p', '-t', 'main');

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

test('--tui shows fill and events/s while lines flow, events go to their pane, q exits cleanly', async () => {
  const { dir, cleanup } = tempDir();
  let client: Socket | undefined;
  let writer: NodeJS.Timeout | undefined;
  try {
    const port = await freePort();
    const conf = join(dir, 'agent.properties');
    writeFileSync(conf, [
      'a1.sources = r1', 'a1.channels = c1', 'a1.sinks = k1',
      'a1.sources.r1.type = netcat', 'a1.sources.r1.bind = 127.0.0.1', `a1.sources.r1.port = ${port}`, 'a1.sources.r1.channels = c1',
      'a1.channels.c1.type = memory', 'a1.channels.c1.capacity = 1000',
      'a1.sinks.k1.type = logger', 'a1.sinks.k1.channel = c1', '',
    ].join('\n'));
    const statusFile = join(dir, 'exit-status');
    const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
    const cli = [process.execPath, join(root, 'bin/flume-tail.js'), 'agent', '-f', conf, '-n', 'a1', '--tui', '--data-dir', join(dir, 'state')].map(quote).join(' ');
    // The shell records the CLI's exit status in a file: tmux's own pane status can lag the pane's death.
    tmux('new-session', '-d', '-s', 'main', '-x', '100', '-y', '30', '-c', root, `${cli}; echo $? > ${quote(statusFile)}; sleep 30`);

    const connected: Socket = await until('the netcat source to listen', () => new Promise<Socket | undefined>((done) => {
      const c = createConnection({ host: '127.0.0.1', port }, () => done(c));
      c.on('error', () => done(undefined));
    }), 15_000, 100) as Socket;
    client = connected;
    client.on('data', () => {});
    let n = 0;
    writer = setInterval(() => {
      for (let i = 0; i < 5; i++) connected.write(`e2e line ${n++}\n`);
    }, 50);

    const shown: string = await until('the dashboard to show fill and a non-zero events/s', () => {
      const s = screen();
      const rate = /r1\s+netcat\s+● FLOWING\s+([\d.]+)(k?)\/s/.exec(s);
      return /c1\s+memory\s+[█░]+\s+[\d.]+%\s+\d+\/1.00k ● OK/.test(s) && rate && Number(rate[1]) > 0 && /e2e line \d+/.test(s) ? s : undefined;
    }, 15_000, 100) as string;
    assert.match(shown, /Channels · 1/);
    assert.match(shown, /k1\s+logger\s+● FLOWING\s+[\d.]+k?\/s/);
    assert.match(shown, /Recent events/);

    // q while a client is still connected and writing: the agent stops cleanly all the same.
    tmux('send-keys', '-t', 'main', 'q');
    const status = await until('the agent to exit after q', () => {
      try {
        return readFileSync(statusFile, 'utf8').trim() || undefined;
      } catch {
        return undefined;
      }
    }, 15_000, 100);
    assert.is(status, '0', `exit status ${status}; screen:\n${screen()}`);
  } finally {
    if (writer) clearInterval(writer);
    client?.destroy();
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    cleanup();
  }
});

test.run();
